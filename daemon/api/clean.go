package api

// Cleaned is the answer to POST /api/clean: the interrupted incoming
// transfers whose .part files the daemon removed ('ferry clean').
type Cleaned struct {
	Transfers []CleanedTransfer `json:"transfers"`
	Bytes     int64             `json:"bytes"` // in all
}

// CleanedTransfer is one interrupted incoming transfer that was dropped.
type CleanedTransfer struct {
	ID       string   `json:"id"`
	PeerName string   `json:"peerName,omitempty"`
	Items    []string `json:"items,omitempty"` // up to 20 names, as the transfer lists them
	// Parts are the .part files removed that held bytes, relative to the
	// downloads folder.
	Parts []string `json:"parts"`
	Bytes int64    `json:"bytes"` // what they held
}
