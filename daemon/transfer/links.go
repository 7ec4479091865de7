package transfer

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"sync"
	"time"
)

// A browser on a plain-HTTP page can keep received files only in memory.
// For files larger than that, or whenever its person prefers, it sends
// fetch instead of accept, and the sending daemon gives it a link per file
// to download from this daemon's HTTP port: a secret that only that page
// was told (over the connection's encrypted control channel), that serves
// byte ranges so the browser's download continues after a break, and that
// ends once the whole file went out or after LinkTTL without a request.

// LinkTTL is how long a link lives without a request.
const LinkTTL = time.Hour

// linkGrace is how long a link still answers after its file went out in
// full: the last bytes written may not have reached the browser when its
// connection broke, and it asks for them again.
const linkGrace = 2 * time.Minute

// LinkPrefix starts the path of every link.
const LinkPrefix = "/get/"

// fileLink is one file offered for download.
type fileLink struct {
	o     *outgoing
	file  int
	local string // the file on disk
	name  string // the name the browser saves it under
	size  int64
	mtime time.Time
	got   []span // byte ranges that went out in full
	used  time.Time
	spent time.Time // when the last missing byte went out
}

// gone reports whether a link no longer answers: spent for linkGrace.
func (l *fileLink) gone(now time.Time) bool {
	return !l.spent.IsZero() && now.Sub(l.spent) > linkGrace
}

type span struct{ from, to int64 }

// links holds the live links of every transfer, by token.
type links struct {
	mu sync.Mutex
	by map[string]*fileLink
}

func newToken() string {
	b := make([]byte, 20)
	rand.Read(b)
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}

// add registers a link for file i of o and returns its token.
func (ls *links) add(o *outgoing, i int, local string, e Entry) (string, error) {
	st, err := os.Stat(local)
	if err != nil {
		return "", err
	}
	if st.Size() != e.Size {
		return "", fmt.Errorf("%s changed since it was offered", local)
	}
	token := newToken()
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.by == nil {
		ls.by = map[string]*fileLink{}
	}
	now := time.Now()
	for t, l := range ls.by {
		if l.gone(now) {
			delete(ls.by, t)
		}
	}
	ls.by[token] = &fileLink{o: o, file: i, local: local, name: path.Base(e.Path), size: e.Size, mtime: st.ModTime(), used: time.Now()}
	return token, nil
}

// drop ends every link of o, except that one whose file went out in full
// answers for linkGrace more.
func (ls *links) drop(o *outgoing) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for token, l := range ls.by {
		if l.o == o && l.spent.IsZero() {
			delete(ls.by, token)
		}
	}
}

// pending reports how many of o's links are not yet downloaded in full,
// and when the newest request for any of them came.
func (ls *links) pending(o *outgoing) (n int, used time.Time) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for _, l := range ls.by {
		if l.o == o && l.spent.IsZero() {
			n++
			if l.used.After(used) {
				used = l.used
			}
		}
	}
	return n, used
}

// take returns the link of token, refreshed, or nil.
func (ls *links) take(token string) *fileLink {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	l := ls.by[token]
	if l == nil {
		return nil
	}
	if now := time.Now(); l.gone(now) {
		delete(ls.by, token)
		return nil
	}
	l.used = time.Now()
	return l
}

// served records that bytes [from, to) of token's file went out, and ends
// the link once every byte has. It returns how many of those bytes had not
// gone out before, and whether the link is complete.
func (ls *links) served(token string, from, to int64) (fresh int64, complete bool) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	l := ls.by[token]
	if l == nil || !l.spent.IsZero() || (to <= from && l.size > 0) {
		return 0, false
	}
	before := covered(l.got)
	if to > from {
		l.got = addSpan(l.got, span{from, to})
	}
	fresh = covered(l.got) - before
	if l.size == 0 || (len(l.got) == 1 && l.got[0] == (span{0, l.size})) {
		l.spent = time.Now()
		return fresh, true
	}
	return fresh, false
}

// addSpan adds s to the sorted, disjoint spans and merges what touches.
func addSpan(spans []span, s span) []span {
	out := make([]span, 0, len(spans)+1)
	for _, x := range spans {
		switch {
		case x.to < s.from:
			out = append(out, x)
		case s.to < x.from:
			out = append(out, s)
			s = x
		default:
			s = span{min(s.from, x.from), max(s.to, x.to)}
		}
	}
	return append(out, s)
}

// covered returns how many bytes the spans cover.
func covered(spans []span) int64 {
	var n int64
	for _, s := range spans {
		n += s.to - s.from
	}
	return n
}

// ServeLink answers a request for a link's file: the whole file or the
// byte range asked, as an attachment. An unknown, spent or expired token is
// 404, and a file that changed on disk since it was offered is 410.
func (m *Manager) ServeLink(w http.ResponseWriter, r *http.Request, token string) {
	l := m.links.take(token)
	if l == nil {
		http.Error(w, "This download link has expired, was used up, or was never given. Ask the sender to send the files again.", http.StatusNotFound)
		return
	}
	f, err := os.Open(l.local)
	if err != nil {
		http.Error(w, "The sender cannot read this file any more.", http.StatusGone)
		return
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || st.Size() != l.size || !st.ModTime().Equal(l.mtime) {
		http.Error(w, "This file changed on the sender's disk since it was offered. Ask for it again.", http.StatusGone)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(l.name))
	h.Set("ETag", strconv.Quote(token))
	h.Set("Cache-Control", "no-store")
	rs := &startReader{ReadSeeker: f}
	cw := &countWriter{ResponseWriter: w}
	http.ServeContent(cw, r, l.name, l.mtime, rs)
	if r.Method != http.MethodGet || (cw.status != http.StatusOK && cw.status != http.StatusPartialContent) {
		return
	}
	if ct := h.Get("Content-Type"); cw.status == http.StatusPartialContent && ct != "application/octet-stream" {
		return // several ranges in one multipart answer: not counted
	}
	fresh, complete := m.links.served(token, rs.start, rs.start+cw.n)
	l.o.linkServed(cw.n, fresh, complete)
}

// startReader remembers where ServeContent seeks to: the start of the range
// it sends.
type startReader struct {
	io.ReadSeeker
	start int64
}

func (s *startReader) Seek(off int64, whence int) (int64, error) {
	n, err := s.ReadSeeker.Seek(off, whence)
	if err == nil && whence == io.SeekStart {
		s.start = n
	}
	return n, err
}

// countWriter counts the body bytes that reached the connection.
type countWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (c *countWriter) WriteHeader(code int) {
	c.status = code
	c.ResponseWriter.WriteHeader(code)
}

func (c *countWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}

// linkBase is the start of the links a session's browser is given: this
// daemon's address as that browser reached it (the local end of the
// connection's ICE pair) and its HTTP port.
func linkBase(s *session, port int) (string, error) {
	sctp := s.pc.SCTP()
	if sctp == nil || sctp.Transport() == nil || sctp.Transport().ICETransport() == nil {
		return "", fmt.Errorf("the connection has no transport")
	}
	pair, err := sctp.Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Local == nil {
		return "", fmt.Errorf("the connection has no address")
	}
	if port == 0 {
		return "", fmt.Errorf("this daemon serves no HTTP port to download from")
	}
	return "http://" + net.JoinHostPort(pair.Local.Address, strconv.Itoa(port)), nil
}
