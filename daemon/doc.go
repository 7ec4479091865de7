// Package daemon is ferry's composition root: it loads the identity, opens
// the downloads folder and state, builds the Pion API, the signaling hub, the
// mesh and the transfer manager, keeps a mesh link to every daemon in the
// peer table, serves the hub, the room pages and the owner's API on one
// listener,
// and runs until its context is cancelled. It is the only package that
// imports all the others.
package daemon
