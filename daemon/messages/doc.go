// Package messages keeps the short texts (a note, a link) this daemon sends
// to and receives from other daemons and browser guests: the signaling
// message of type "text" (docs/protocol.md, "Text messages").
//
// A Store sends through the mesh (Config.Send, the mesh's Send) and takes the
// texts the mesh delivers to this daemon (Handle). It keeps the most recent
// messages in both directions for the owner's dashboard, drops copies of a
// message it already has (by sender and message ID), limits how many it
// takes from one sender and in all, and cleans what it shows: control
// characters other than newline and tab, and the bidirectional overrides
// that make a link read as another, are removed.
//
// Delivery is a hint, as presence is: a text that left this daemon may still
// be lost (the addressee left, a link dropped). The only word back is an
// error no-peer carrying the text's ID, which Handle takes too and records
// on the message it names. Nothing is written to disk.
//
// The Store does not route (package mesh does), nor does it serve the
// owner's API (package web does); it knows peers only by the IDs and names
// the mesh gives it.
package messages
