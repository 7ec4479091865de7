// Package store owns the downloads folder: it turns names from the network
// into safe relative paths, reserves names for one transfer's manifest (a
// Placement, which holds the only handle to the folder), writes incoming
// files as name.part inside the folder (never outside it, never through a
// link), checkpoints what it holds so a transfer can resume after a restart,
// verifies the SHA-256, gives the file its final name with an atomic rename,
// and removes the part files of a transfer that is abandoned.
//
// It knows nothing of peers, WebRTC or the wire protocol, and it does not
// keep the resume state itself: the transfer package decides what to save
// and where.
package store
