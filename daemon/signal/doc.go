// Package signal carries WebRTC signaling between ferry peers over a
// WebSocket or a paired data channel (Transport):
// the message format (versioned JSON, see docs/protocol.md) and its strict
// decoder; the Hub, which accepts peers, routes each direct peer's messages
// to a Handler with a way to reply, and hands mesh links and guests to a
// Sessions; the Dialer, which shares one outgoing connection to a hub
// address among every transfer to it; and room codes.
//
// It does not know what the messages set up (package transfer does), nor how
// hubs link into a mesh (package mesh does). Its errors carry the codes of
// package proto.
package signal
