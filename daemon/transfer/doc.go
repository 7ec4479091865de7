// Package transfer moves files between ferry peers over WebRTC data channels
// (Pion): it sets up the peer connection from signaling messages, checks the
// remote's DTLS fingerprint against its device ID, and runs the file protocol
// of docs/protocol.md on both sides: offers, answers, chunks addressed by file
// and offset under bufferedAmount backpressure, resume after a broken
// connection or a restart, and SHA-256 verification before a file gets its
// final name.
//
// It sees a signaling link, the downloads folder and a *webrtc.API, nothing
// else: discovery, HTTP and the CLI live elsewhere.
package transfer
