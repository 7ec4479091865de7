package transfer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ferry-dev/ferry/daemon/proto"
)

// drainBuffered waits briefly for queued messages to leave before a close.
func drainBuffered(s *session) {
	deadline := time.Now().Add(2 * time.Second)
	for s.ctrl.BufferedAmount() > 0 && time.Now().Before(deadline) {
		select {
		case <-s.closed:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// stream sends every file of entries, read from the paths in local, from
// (file, offset) on, in manifest order, each followed by its SHA-256 on the
// control channel. held is the SHA-256 the receiver gave for the offset
// bytes it holds of file, if it gave one. One buffer serves every chunk:
// Pion copies what Send is given.
func (o *outgoing) stream(ctx context.Context, s *session, entries []Entry, local []string, file int, offset int64, held string) error {
	buf := make([]byte, s.maxChunk())
	for i := file; i < len(entries); i++ {
		e := entries[i]
		if e.Dir {
			continue
		}
		start, sum := int64(0), ""
		if i == file {
			start, sum = offset, held
		}
		if start > e.Size {
			return &endError{StateFailed, proto.CodeBadOffset, fmt.Sprintf("the receiver asked to resume %s at %d, past its size", e.Path, start)}
		}
		sum, err := o.sendFile(ctx, s, buf, e, local[i], i, start, sum)
		if err != nil {
			return err
		}
		if err := s.sendControl(Control{Type: MsgFileEnd, File: i, SHA256: sum}); err != nil {
			return errLost
		}
	}
	return nil
}

// sendFile sends entry e, file i of the manifest, from path, starting at
// off. held, if set, is the SHA-256 the receiver gave for the off bytes it
// holds: when this file's first off bytes hash otherwise, the receiver
// holds other bytes (unconfirmed ones it offered after being killed, or a
// copy of another version of the file), and the file is sent from its
// start, which such a receiver takes as starting it over.
func (o *outgoing) sendFile(ctx context.Context, s *session, buf []byte, e Entry, path string, i int, off int64, held string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", &endError{StateFailed, proto.CodeStorage, fmt.Sprintf("reading %s: %v", path, err)}
	}
	defer f.Close()
	h := sha256.New()
	// Resuming: the hash covers the whole file, so read what was sent before.
	if _, err := io.CopyN(h, f, off); err != nil {
		return "", &endError{StateFailed, proto.CodeStorage, fmt.Sprintf("%s changed while sending: %v", path, err)}
	}
	if off > 0 && held != "" && hex.EncodeToString(h.Sum(nil)) != held {
		o.m.cfg.Log.Info("The receiver holds other bytes of a file; sending it from the start", "transfer", o.id, "file", e.Path, "held", off)
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return "", &endError{StateFailed, proto.CodeStorage, fmt.Sprintf("reading %s: %v", path, err)}
		}
		h.Reset()
		o.set(func() { o.done -= off })
		off = 0
	}
	for off < e.Size {
		n := int(min(int64(len(buf)-ChunkHeaderBytes), e.Size-off))
		payload := buf[ChunkHeaderBytes : ChunkHeaderBytes+n]
		if _, err := io.ReadFull(f, payload); err != nil {
			return "", &endError{StateFailed, proto.CodeStorage, fmt.Sprintf("%s changed while sending: %v", path, err)}
		}
		h.Write(payload)
		PutChunkHeader(buf, i, off)
		for s.data.BufferedAmount() > bufferHigh {
			select {
			case <-s.low:
			case <-s.closed:
				return "", errLost
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}
		if err := s.data.Send(buf[:ChunkHeaderBytes+n]); err != nil {
			return "", errLost
		}
		off += int64(n)
		o.mu.Lock()
		o.sent += int64(n)
		o.mu.Unlock()
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// sendOffer sends the manifest: an offer with the first page of entries,
// then entries messages with the rest.
func (o *outgoing) sendOffer(s *session) error {
	head := Control{Type: MsgOffer, Transfer: o.id, Name: o.m.cfg.Name, Count: len(o.entries), Bytes: o.total, CheckHeld: true}
	pages, err := Pages(head, o.entries)
	for _, p := range pages {
		if err == nil {
			err = s.sendControl(p)
		}
	}
	return err
}

// position returns the byte position in the whole transfer of (file, offset).
func (o *outgoing) position(file int, offset int64) int64 {
	var n int64
	for i := 0; i < file && i < len(o.entries); i++ {
		n += o.entries[i].Size
	}
	return n + offset
}
