// Package transfer moves files between ferry peers over WebRTC data channels
// (Pion): it sets up the peer connection from signaling messages, checks the
// remote's DTLS certificate against the peer it claims to be, and runs the
// file protocol of docs/protocol.md on both sides: offers, answers, chunks
// addressed by file and offset under bufferedAmount backpressure, resume
// after a broken connection or a restart, and SHA-256 verification before a
// file gets its final name.
//
// A peer is a daemon, known by its device ID, or a browser guest, known by
// its client ID and the certificate of its session and never trusted as a
// device (Peer). An outgoing transfer reaches its peer by a Route: Direct to
// a hub address through the shared connections of a signal.Dialer, or
// ThroughMesh to a peer ID through anything that can Send (the mesh). Every
// incoming session is answered through the Reply of the signal.Peer that
// offered it. A direct transfer follows its device rather than its
// address: once it knows the device ID, each new session asks
// Config.Locate where that device is now, and Config.Relay (the mesh) last.
//
// A receiver keeps what an interrupted transfer holds while it can resume:
// a new offer of the same files from the same sender continues it, and the
// owner's Clean, or Config.KeepInterrupted without anything arriving,
// removes it (incoming_held.go).
//
// It sees signaling messages, the downloads folder (package store, through
// a Placement per transfer), a States store for resume state and a
// *webrtc.API, nothing else: discovery, trust, the mesh's insides, HTTP and
// the CLI live elsewhere. Its errors carry the codes of package proto.
package transfer
