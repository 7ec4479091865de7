package transfer

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ferry-dev/ferry/daemon/store"
)

// buildManifest lists paths as offer entries, folders recursively, each
// named relative to the folder that holds the path. Links inside folders are
// skipped: following them could send files the owner did not point at.
func buildManifest(paths []string) ([]Entry, []string, error) {
	var entries []Entry
	var local []string
	seen := make(map[string]bool)
	add := func(rel, abs string, info fs.FileInfo) error {
		if _, err := store.CleanPath(rel); err != nil {
			return fmt.Errorf("cannot send %s: %w", abs, err)
		}
		if seen[rel] {
			return fmt.Errorf("cannot send %s: two items are named %q", abs, rel)
		}
		seen[rel] = true
		e := Entry{Path: rel, Dir: info.IsDir(), Mtime: info.ModTime().UnixMilli()}
		if !e.Dir {
			e.Size = info.Size()
		}
		entries = append(entries, e)
		local = append(local, abs)
		return nil
	}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, nil, fmt.Errorf("reading %s: %w", p, err)
		}
		info, err := os.Stat(abs)
		if err != nil {
			return nil, nil, fmt.Errorf("reading %s: %w", p, err)
		}
		if !info.IsDir() && !info.Mode().IsRegular() {
			return nil, nil, fmt.Errorf("cannot send %s: not a regular file or folder", p)
		}
		base := filepath.Dir(abs)
		err = filepath.WalkDir(abs, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("reading %s: %w", path, err)
			}
			if path != abs && d.Type()&fs.ModeSymlink != 0 {
				return nil
			}
			info, err := os.Stat(path)
			if err != nil {
				return fmt.Errorf("reading %s: %w", path, err)
			}
			if !info.IsDir() && !info.Mode().IsRegular() {
				return nil
			}
			rel, err := filepath.Rel(base, path)
			if err != nil {
				return err
			}
			return add(filepath.ToSlash(rel), path, info)
		})
		if err != nil {
			return nil, nil, err
		}
		if len(entries) > MaxEntries {
			return nil, nil, fmt.Errorf("cannot send more than %d items at once", MaxEntries)
		}
	}
	if len(entries) == 0 {
		return nil, nil, fmt.Errorf("nothing to send")
	}
	if n := ManifestBytes(entries); n > MaxManifestBytes {
		return nil, nil, fmt.Errorf("cannot send so many items at once: their list takes %d bytes (their paths, and %d bytes for each item), the limit is %d", n, EntryOverheadBytes, MaxManifestBytes)
	}
	return entries, local, nil
}
