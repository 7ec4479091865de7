package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func openRoot(t *testing.T) (*os.Root, string) {
	t.Helper()
	dir := t.TempDir()
	root, err := NewDownloads(dir).open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return root, dir
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestPlaceNumbersCollisions(t *testing.T) {
	root, dir := openRoot(t)
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "b (1).txt.part"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "b.txt"), nil, 0o644)
	os.Mkdir(filepath.Join(dir, "pics"), 0o755)

	got, err := place(root, []Entry{
		{Path: "a.txt"}, {Path: "b.txt"}, {Path: "pics", Dir: true},
		{Path: "pics/x.jpg"}, {Path: "pics/empty", Dir: true}, {Path: ".bashrc"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a (1).txt", "b (2).txt", "pics (1)", "pics (1)/x.jpg", "pics (1)/empty", ".bashrc"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d placed at %q, want %q", i, got[i], want[i])
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "pics (1)", "empty")); err != nil || !st.IsDir() {
		t.Errorf("empty folder not created: %v", err)
	}
	// A second transfer with the same names must not share them.
	again, err := place(root, []Entry{{Path: "a.txt"}})
	if err != nil || again[0] != "a (2).txt" {
		t.Errorf("second placement = %v, %v; want a (2).txt", again, err)
	}
}

func TestPartFileResumeAndFinish(t *testing.T) {
	root, dir := openRoot(t)
	data := []byte("hello, resumable world")
	p, err := openPart(root, "sub/f.txt", int64(len(data)), Checkpoint{})
	if err != nil {
		t.Fatal(err)
	}
	p.Write(data[:5])
	cp, err := p.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	p.Write(data[5:9]) // written but not checkpointed: must be cut off
	p.Close()

	p, err = openPart(root, "sub/f.txt", int64(len(data)), cp)
	if err != nil {
		t.Fatal(err)
	}
	if p.Held() != 5 {
		t.Fatalf("resumed at %d, want 5", p.Held())
	}
	if _, err := p.Write(append(data[5:], '!')); !errors.Is(err, ErrTooManyBytes) {
		t.Fatalf("overlong write error = %v, want ErrTooManyBytes", err)
	}
	p.Write(data[5:])
	mtime := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	final, err := p.Finish(sum(data), mtime)
	if err != nil || final != "sub/f.txt" {
		t.Fatalf("Finish = %q, %v", final, err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "sub", "f.txt"))
	if string(got) != string(data) {
		t.Fatalf("final content %q", got)
	}
	st, _ := os.Stat(filepath.Join(dir, "sub", "f.txt"))
	if !st.ModTime().Equal(mtime) {
		t.Errorf("mtime %v, want %v", st.ModTime(), mtime)
	}
	if _, err := os.Stat(filepath.Join(dir, "sub", "f.txt.part")); !os.IsNotExist(err) {
		t.Errorf("part file left behind: %v", err)
	}
}

func TestPartFileHashMismatchLeavesNothing(t *testing.T) {
	root, dir := openRoot(t)
	p, _ := openPart(root, "f.bin", 3, Checkpoint{})
	p.Write([]byte("abc"))
	_, err := p.Finish(sum([]byte("abd")), time.Time{})
	if !errors.Is(err, ErrHashMismatch) {
		t.Fatalf("error = %v, want hash mismatch", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("downloads folder holds %v after a mismatch", entries)
	}
}

func TestFinishNumbersWhenNameTakenMeanwhile(t *testing.T) {
	root, dir := openRoot(t)
	p, _ := openPart(root, "f.txt", 1, Checkpoint{})
	p.Write([]byte("x"))
	os.WriteFile(filepath.Join(dir, "f.txt"), []byte("mine"), 0o644)
	final, err := p.Finish(sum([]byte("x")), time.Time{})
	if err != nil || final != "f (1).txt" {
		t.Fatalf("Finish = %q, %v; want f (1).txt", final, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "f.txt")); string(b) != "mine" {
		t.Fatal("existing file was overwritten")
	}
}

func TestPartRefusesSymlinkOut(t *testing.T) {
	root, dir := openRoot(t)
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Skip("symlinks unavailable:", err)
	}
	if _, err := openPart(root, "link/evil", 1, Checkpoint{}); err == nil {
		t.Fatal("wrote through a link out of the downloads folder")
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("file created outside: %v", entries)
	}
}
