// Package store owns the downloads folder: it turns names from the network
// into safe relative paths, writes incoming files as name.part inside the
// folder (never outside it, never through a link), checkpoints what it holds
// so a transfer can resume after a restart, verifies the SHA-256 and gives the
// file its final name with an atomic rename.
//
// It knows nothing of peers, WebRTC or the wire protocol.
package store
