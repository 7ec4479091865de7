// Package daemon is ferry's composition root: it loads the identity, opens
// the downloads folder and state, builds the Pion API, the signaling hub and
// the transfer manager, serves the hub and the owner's API on one listener,
// and runs until its context is cancelled. It is the only package that
// imports all the others.
package daemon
