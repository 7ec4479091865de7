package store

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPlacementAbandon: abandoning a transfer removes the part files of its
// unfinished files, started or not, and keeps finished files, folders and
// everything that was in the folder before.
func TestPlacementAbandon(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("the owner's"), 0o644)
	d := NewDownloads(dir)
	p, err := d.Place([]Entry{{Path: "a.txt"}, {Path: "b.txt"}, {Path: "album", Dir: true}, {Path: "album/c.txt"}, {Path: "album/d.txt"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a (1).txt", "b.txt", "album", "album/c.txt", "album/d.txt"}
	if got := p.Paths(); !slices.Equal(got, want) {
		t.Fatalf("Paths = %q; want %q", got, want)
	}
	done, err := p.OpenPart(0, 2, Checkpoint{})
	if err != nil {
		t.Fatal(err)
	}
	done.Write([]byte("ok"))
	if final, err := done.Finish(sum([]byte("ok")), time.Time{}); err != nil || final != "a (1).txt" {
		t.Fatalf("Finish = %q, %v", final, err)
	}
	started, err := p.OpenPart(3, 10, Checkpoint{})
	if err != nil {
		t.Fatal(err)
	}
	started.Write([]byte("half"))
	started.Close()
	if _, err := p.OpenPart(2, 0, Checkpoint{}); err == nil {
		t.Fatal("opened a part file for a folder")
	}

	p.Abandon(func(i int) bool { return i == 0 })
	var left []string
	filepath.WalkDir(dir, func(path string, _ os.DirEntry, _ error) error {
		if rel, _ := filepath.Rel(dir, path); rel != "." {
			left = append(left, filepath.ToSlash(rel))
		}
		return nil
	})
	if want := []string{"a (1).txt", "a.txt", "album"}; !slices.Equal(left, want) {
		t.Fatalf("after Abandon the folder holds %q; want %q", left, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a (1).txt")); string(b) != "ok" {
		t.Fatalf("finished file holds %q", b)
	}
}

// TestPlacementReopen: a placement taken up again after a restart continues
// a part file from its checkpoint, and refuses paths that leave the folder.
func TestPlacementReopen(t *testing.T) {
	dir := t.TempDir()
	d := NewDownloads(dir)
	p, err := d.Place([]Entry{{Path: "f.bin"}})
	if err != nil {
		t.Fatal(err)
	}
	part, _ := p.OpenPart(0, 6, Checkpoint{})
	part.Write([]byte("abc"))
	cp, err := part.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	part.Close()
	p.Close()

	for _, bad := range []string{"../escape", "/etc/passwd", "a/../../b"} {
		if _, err := d.Reopen([]Entry{{Path: bad}}); err == nil || !strings.Contains(err.Error(), "bad file name") {
			t.Errorf("Reopen(%q) = %v; want it refused", bad, err)
		}
	}
	again, err := d.Reopen([]Entry{{Path: "f.bin"}})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	part, err = again.OpenPart(0, 6, cp)
	if err != nil || part.Held() != 3 {
		t.Fatalf("reopened part holds %d, %v; want 3", part.Held(), err)
	}
	part.Write([]byte("def"))
	if final, err := part.Finish(sum([]byte("abcdef")), time.Time{}); err != nil || final != "f.bin" {
		t.Fatalf("Finish = %q, %v", final, err)
	}
}
