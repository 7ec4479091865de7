// Package pair connects a daemon and a browser that cannot reach a common
// hub, by one offer and one answer exchanged as text (copy and paste, or a
// QR code) with ICE gathering complete. It owns the text format (Encode,
// Decode, Info.SDP: docs/protocol.md, "Pairing without a hub") and the Pion
// side of a pairing: the Manager makes an offer and takes its answer, or
// answers an offer, with the daemon's own Pion API and DTLS certificate.
//
// The paired connection carries the hub protocol on one negotiated data
// channel, ferry-hub; once it opens, the Manager hands it to the hub
// (signal.Hub.ServeGuest) as a guest's connection, and from then on the
// browser is a guest like one on the hub's WebSocket. What a guest may do
// is the hub's and the mesh's business, not this package's.
package pair
