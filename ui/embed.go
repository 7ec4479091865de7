// Package ui holds what the daemon's web server shows people: HTML
// templates, style sheets and, as the dashboard and guest page grow, the ES
// modules they run. It is plain files with no build step, embedded so that
// `go build` gives a binary with the whole UI inside.
//
// It imports nothing from ferry; package web serves these files.
package ui

import (
	"embed"
	"io/fs"
)

//go:embed *.html *.css sw.js js
var files embed.FS

// FS returns the UI's files.
func FS() fs.FS { return files }
