package outbox

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// newOutbox opens an outbox in dir (a new folder when ""), whose uploads
// are being sent while sending holds their folders.
func newOutbox(t *testing.T, dir string, sending map[string]bool) *Outbox {
	t.Helper()
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "outbox")
	}
	o, err := New(Config{
		Dir:     dir,
		Changed: func() <-chan struct{} { return make(chan struct{}) },
		Sending: func(dir string) bool { return sending[filepath.Base(dir)] },
		Log:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestUploadSendAndSweep(t *testing.T) {
	sending := map[string]bool{}
	o := newOutbox(t, "", sending)
	up, err := o.Create()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Paths(up.ID); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("Paths of an empty upload: %v", err)
	}
	if _, err := o.Write(up.ID, "holiday/day 1/beach.jpg", strings.NewReader("sand")); err != nil {
		t.Fatal(err)
	}
	got, err := o.Write(up.ID, "notes.txt", strings.NewReader("hello"))
	if err != nil || got.Bytes != 9 || strings.Join(got.Items, ",") != "holiday,notes.txt" {
		t.Fatalf("upload %+v, %v", got, err)
	}
	if _, err := o.Write(up.ID, "notes.txt", strings.NewReader("again")); err == nil {
		t.Fatal("a second file under the same name replaced the first")
	}
	paths, err := o.Paths(up.ID)
	if err != nil || len(paths) != 2 || filepath.Base(paths[0]) != "holiday" {
		t.Fatalf("Paths = %v, %v", paths, err)
	}
	if b, _ := os.ReadFile(filepath.Join(paths[0], "day 1", "beach.jpg")); string(b) != "sand" {
		t.Fatalf("the nested file holds %q", b)
	}

	sending[up.ID] = true
	o.Used(up.ID)
	if _, err := o.Write(up.ID, "late.txt", strings.NewReader("x")); err == nil {
		t.Error("a file was added to an upload that is being sent")
	}
	if err := o.Discard(up.ID); err == nil {
		t.Error("an upload in use was discarded")
	}
	o.sweep(time.Now())
	if _, err := os.Stat(paths[0]); err != nil {
		t.Fatalf("removed while a transfer still sends it: %v", err)
	}

	// After a restart the upload is kept while a transfer sends it.
	o = newOutbox(t, o.cfg.Dir, sending)
	o.sweep(time.Now())
	if _, err := o.Paths(up.ID); err != nil {
		t.Fatalf("lost in the restart: %v", err)
	}
	sending[up.ID] = false
	o.sweep(time.Now())
	if _, err := os.Stat(filepath.Dir(paths[0])); !os.IsNotExist(err) {
		t.Fatalf("still there after every transfer ended: %v", err)
	}
	if _, err := o.Paths(up.ID); err != ErrNoUpload {
		t.Fatalf("Paths after removal: %v", err)
	}
}

func TestUploadBadInput(t *testing.T) {
	o := newOutbox(t, "", nil)
	up, _ := o.Create()
	for _, tt := range []struct{ id, name, err string }{
		{up.ID, "../escape.txt", `cannot upload "../escape.txt"`},
		{up.ID, "/etc/passwd", `cannot upload "/etc/passwd"`},
		{up.ID, "", `cannot upload ""`},
		{"../../etc", "x.txt", "no such upload"},
		{"0123456789abcdef", "x.txt", "no such upload"},
	} {
		if _, err := o.Write(tt.id, tt.name, strings.NewReader("x")); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("Write(%q, %q) = %v, want %q", tt.id, tt.name, err, tt.err)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(o.cfg.Dir)); len(entries) != 1 {
		t.Fatalf("something was written beside the outbox: %v", entries)
	}
}

func TestUnusedUploadExpires(t *testing.T) {
	o := newOutbox(t, "", nil)
	up, _ := o.Create()
	o.Write(up.ID, "a.txt", strings.NewReader("a"))
	o.sweep(time.Now())
	if _, err := o.Paths(up.ID); err != nil {
		t.Fatalf("removed at once: %v", err)
	}
	o.sweep(time.Now().Add(2 * time.Hour))
	if _, err := o.Paths(up.ID); err != ErrNoUpload {
		t.Fatalf("an upload nothing sent is still kept after two hours: %v", err)
	}
}
