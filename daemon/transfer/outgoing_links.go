package transfer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"time"

	"github.com/ferry-dev/ferry/daemon/proto"
)

// linkWait watches a transfer whose files a browser downloads over HTTP:
// idle is closed when LinkTTL passes without a request.
type linkWait struct {
	o    *outgoing
	idle chan struct{}
	quit chan struct{}
}

// stop ends the watch and every link of the transfer.
func (w *linkWait) stop() {
	close(w.quit)
	w.o.m.links.drop(w.o)
}

// serveLinks answers fetch: a link message for each file, then, from a
// goroutine that reports a failure on errs, each file's SHA-256 as a
// file-end, so the page can show it beside the download. Only a browser
// may fetch: a daemon receives over the connection.
func (o *outgoing) serveLinks(ctx context.Context, s *session, errs chan<- error) (*linkWait, error) {
	o.mu.Lock()
	guest := o.peerKind == KindGuest
	o.mu.Unlock()
	if !guest {
		return nil, &endError{StateFailed, proto.CodeBadMessage, "only a browser may ask for links instead of the files"}
	}
	base, err := linkBase(s, o.m.cfg.HTTPPort)
	if err != nil {
		return nil, &endError{StateFailed, proto.CodeStorage, "cannot offer the files as downloads: " + err.Error()}
	}
	o.linksDone = make(chan struct{}, 1)
	entries, local := o.entries, o.local
	w := &linkWait{o: o, idle: make(chan struct{}), quit: make(chan struct{})}
	for i, e := range entries {
		if e.Dir {
			continue
		}
		token, err := o.m.links.add(o, i, local[i], e)
		if err == nil {
			err = s.sendControl(Control{Type: MsgLink, File: i, Path: base + LinkPrefix + token + "/" + url.PathEscape(path.Base(e.Path))})
		}
		if err != nil {
			w.stop()
			return nil, &endError{StateFailed, proto.CodeStorage, fmt.Sprintf("cannot offer %s as a download: %v", e.Path, err)}
		}
	}
	o.set(func() { o.state, o.done, o.lastProgress = StateActive, 0, time.Now() })
	o.m.cfg.Log.Info("The browser downloads the files over HTTP", "transfer", o.id)
	go func() {
		for i, e := range entries {
			if e.Dir {
				continue
			}
			sum, err := hashFile(ctx, local[i])
			if err != nil {
				errs <- &endError{StateFailed, proto.CodeStorage, fmt.Sprintf("reading %s: %v", e.Path, err)}
				return
			}
			s.sendControl(Control{Type: MsgFileEnd, File: i, SHA256: sum})
		}
	}()
	go w.watch()
	return w, nil
}

// watch closes idle once none of the links was asked for in LinkTTL.
func (w *linkWait) watch() {
	for {
		n, used := w.o.m.links.pending(w.o)
		if n == 0 {
			return
		}
		left := time.Until(used.Add(LinkTTL))
		if left <= 0 {
			close(w.idle)
			return
		}
		t := time.NewTimer(left)
		select {
		case <-t.C:
		case <-w.quit:
			t.Stop()
			return
		}
	}
}

// linkServed counts a download's bytes: sent went out, fresh of them for
// the first time; complete says a file's last missing byte went out.
func (o *outgoing) linkServed(sent, fresh int64, complete bool) {
	o.set(func() {
		o.sent += sent
		o.done += fresh
		o.lastProgress = time.Now()
		if complete {
			o.verified++
		}
	})
	if complete {
		select {
		case o.linksDone <- struct{}{}:
		default:
		}
	}
}

func hashFile(ctx context.Context, name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, ctxReader{ctx, f}); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ctxReader stops a long read when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}
