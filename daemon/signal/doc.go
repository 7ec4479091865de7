// Package signal carries WebRTC signaling between ferry peers over WebSocket:
// the message format (versioned JSON, see docs/protocol.md), a strict decoder,
// the hub that accepts peers and routes messages to the current connection of
// each, and outgoing links shared by all transfers to one address.
//
// It does not know what the messages set up; the transfer package does.
package signal
