// Package outbox keeps the files the owner's dashboard hands the daemon to
// send. A browser page cannot give the daemon a path on disk, only the
// bytes of the files dropped on it, so the page streams them here first
// (over loopback) and the daemon sends them from here like any other files:
// the send then belongs to the daemon, not to the page, and goes on when the
// tab closes. An upload is removed once every transfer that sends it has
// ended, or after an hour if nothing sends it.
//
// Paths inside an upload are checked like names from the network (package
// store's rules) and confined to the upload's folder. Uploads survive a
// restart of the daemon, as the transfers that send them do.
package outbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/ferry-dev/ferry/daemon/api"
	"github.com/ferry-dev/ferry/daemon/store"
)

// Config configures an Outbox.
type Config struct {
	// Dir is the folder uploads are kept in, inside the data folder.
	Dir string
	// Changed tells when transfers change, and Sending whether an
	// unfinished transfer sends from a folder, so sent uploads can go.
	Changed func() <-chan struct{}
	Sending func(dir string) bool
	// Unused is how long an upload nothing sends is kept; 0 means an hour.
	Unused time.Duration
	Log    *slog.Logger
}

// Outbox is the uploads folder.
type Outbox struct {
	cfg Config

	mu      sync.Mutex
	uploads map[string]*upload
}

type upload struct {
	created time.Time
	used    bool // handed to a transfer
	writing int  // files being written now
}

var idPattern = regexp.MustCompile(`^[0-9a-f]{16}$`)

// New opens the uploads folder. Uploads from before a restart count as
// handed over: they stay while a transfer taken up after the restart sends
// them.
func New(cfg Config) (*Outbox, error) {
	if cfg.Unused == 0 {
		cfg.Unused = time.Hour
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the uploads folder: %w", err)
	}
	des, err := os.ReadDir(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("reading the uploads folder: %w", err)
	}
	o := &Outbox{cfg: cfg, uploads: map[string]*upload{}}
	for _, de := range des {
		if de.IsDir() && idPattern.MatchString(de.Name()) {
			o.uploads[de.Name()] = &upload{created: time.Now(), used: true}
		}
	}
	return o, nil
}

// Create starts an empty upload.
func (o *Outbox) Create() (api.Upload, error) {
	b := make([]byte, 8)
	rand.Read(b)
	id := hex.EncodeToString(b)
	if err := os.Mkdir(filepath.Join(o.cfg.Dir, id), 0o700); err != nil {
		return api.Upload{}, fmt.Errorf("creating an upload: %w", err)
	}
	o.mu.Lock()
	o.uploads[id] = &upload{created: time.Now()}
	o.mu.Unlock()
	return api.Upload{ID: id, Items: []string{}}, nil
}

// ErrNoUpload means the upload does not exist (any more).
var ErrNoUpload = errors.New("no such upload; it may have been sent and removed already")

func (o *Outbox) get(id string) (*upload, error) {
	if !idPattern.MatchString(id) {
		return nil, ErrNoUpload
	}
	u := o.uploads[id]
	if u == nil {
		return nil, ErrNoUpload
	}
	return u, nil
}

// Write stores one file of upload id at name, a relative path with "/"
// between folders, from body. The file appears under its name only once
// all of it is written.
func (o *Outbox) Write(id, name string, body io.Reader) (api.Upload, error) {
	clean, err := store.CleanPath(name)
	if err != nil {
		return api.Upload{}, fmt.Errorf("cannot upload %q: %w", name, err)
	}
	o.mu.Lock()
	u, err := o.get(id)
	if err == nil && u.used {
		err = errors.New("this upload is being sent already; start a new one")
	}
	if err == nil {
		u.writing++
	}
	o.mu.Unlock()
	if err != nil {
		return api.Upload{}, err
	}
	defer func() {
		o.mu.Lock()
		u.writing--
		o.mu.Unlock()
	}()
	if err := o.write(id, clean, body); err != nil {
		return api.Upload{}, err
	}
	return o.describe(id)
}

func (o *Outbox) write(id, clean string, body io.Reader) error {
	root, err := os.OpenRoot(filepath.Join(o.cfg.Dir, id))
	if err != nil {
		return fmt.Errorf("opening the upload: %w", err)
	}
	defer root.Close()
	if dir := path.Dir(clean); dir != "." {
		if err := root.MkdirAll(filepath.FromSlash(dir), 0o700); err != nil {
			return fmt.Errorf("cannot upload %s: %w", clean, err)
		}
	}
	local := filepath.FromSlash(clean)
	if _, err := root.Stat(local); err == nil {
		return fmt.Errorf("cannot upload %s: this upload has it already", clean)
	}
	tmp := local + ".uploading"
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("cannot upload %s: %w", clean, err)
	}
	_, err = io.Copy(f, body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, local)
	}
	if err != nil {
		root.Remove(tmp)
		return fmt.Errorf("receiving %s from the page: %w", clean, err)
	}
	return nil
}

func (o *Outbox) describe(id string) (api.Upload, error) {
	up := api.Upload{ID: id, Items: []string{}}
	dir := filepath.Join(o.cfg.Dir, id)
	des, err := os.ReadDir(dir)
	if err != nil {
		return up, fmt.Errorf("reading the upload: %w", err)
	}
	for _, de := range des {
		up.Items = append(up.Items, de.Name())
	}
	err = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, ierr := d.Info(); ierr == nil {
				up.Bytes += info.Size()
			}
		}
		return err
	})
	return up, err
}

// Paths returns the top-level files and folders of upload id, to send.
func (o *Outbox) Paths(id string) ([]string, error) {
	o.mu.Lock()
	u, err := o.get(id)
	if err == nil && u.writing > 0 {
		err = errors.New("files of this upload are still arriving; send when they are all in")
	}
	o.mu.Unlock()
	if err != nil {
		return nil, err
	}
	up, err := o.describe(id)
	if err != nil {
		return nil, err
	}
	if len(up.Items) == 0 {
		return nil, errors.New("the upload is empty: add files first")
	}
	paths := make([]string, len(up.Items))
	for i, name := range up.Items {
		paths[i] = filepath.Join(o.cfg.Dir, id, name)
	}
	return paths, nil
}

// Used records that upload id was handed to transfers: it goes once none
// of them is sending from it any more.
func (o *Outbox) Used(id string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if u, err := o.get(id); err == nil {
		u.used = true
	}
}

// Discard removes an upload nothing sends.
func (o *Outbox) Discard(id string) error {
	o.mu.Lock()
	u, err := o.get(id)
	if err == nil && (u.used || u.writing > 0) {
		err = errors.New("this upload is in use and is removed when its transfers end")
	}
	if err == nil {
		delete(o.uploads, id)
	}
	o.mu.Unlock()
	if err != nil {
		return err
	}
	return os.RemoveAll(filepath.Join(o.cfg.Dir, id))
}

// Run removes uploads no transfer sends any more, and those nothing sent
// within Config.Unused, until ctx ends.
func (o *Outbox) Run(ctx context.Context) error {
	tick := time.NewTicker(o.cfg.Unused / 4)
	defer tick.Stop()
	for {
		changed := o.cfg.Changed()
		o.sweep(time.Now())
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-tick.C:
		}
	}
}

func (o *Outbox) sweep(now time.Time) {
	o.mu.Lock()
	var done []string
	for id, u := range o.uploads {
		ended := u.used && !o.cfg.Sending(filepath.Join(o.cfg.Dir, id))
		unused := !u.used && u.writing == 0 && now.Sub(u.created) > o.cfg.Unused
		if ended || unused {
			delete(o.uploads, id)
			done = append(done, id)
		}
	}
	o.mu.Unlock()
	for _, id := range done {
		if err := os.RemoveAll(filepath.Join(o.cfg.Dir, id)); err != nil {
			o.cfg.Log.Warn("Cannot remove a sent upload", "upload", id, "err", err)
		}
	}
}
