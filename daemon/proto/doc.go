// Package proto holds the error type and the error codes of
// docs/protocol.md, shared by signaling (package signal and the mesh) and
// the file protocol (package transfer), so one code means one thing on
// every layer of the wire.
//
// It imports nothing from ferry and knows no message formats: those belong
// to the packages that speak them.
package proto
