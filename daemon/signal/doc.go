// Package signal carries WebRTC signaling between ferry peers over WebSocket:
// the message format (versioned JSON, see docs/protocol.md), a strict decoder,
// the hub that accepts peers and routes messages to the current connection of
// each, hands mesh links and guests to a Sessions, and outgoing links shared
// by all transfers to one address; room codes are defined here too.
//
// It does not know what the messages set up; the transfer package does.
package signal
