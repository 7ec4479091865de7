// Package datadir owns the daemon's data folder: the config file
// (config.json), the API address file clients read (api.json), the rooms
// this device is in (rooms.json), the nearby-device books (peers.json,
// trusted.json) and the resume state of transfers (transfers/*.json).
//
// Every JSON file in it is written the same way, by WriteJSON: a temporary
// file beside the target, synced, renamed over it, and the folder synced, so
// a crash or power loss leaves the old content or the new one, never a mix.
//
// It does not own the device key (package identity keeps its PEM files
// here) or anything in the downloads folder (package store).
package datadir
