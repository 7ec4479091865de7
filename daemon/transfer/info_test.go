package transfer

import "testing"

func TestInfoAtPosition(t *testing.T) {
	entries := []Entry{{Path: "a", Size: 10}, {Path: "d", Dir: true}, {Path: "d/empty"}, {Path: "d/b", Size: 5}}
	for _, tt := range []struct {
		done       int64
		file       string
		fdone, all int64
	}{
		{0, "", 0, 0},
		{4, "a", 4, 10},
		{10, "d/b", 0, 5},
		{12, "d/b", 2, 5},
		{15, "", 0, 0},
	} {
		in := Info{State: StateActive}
		in.atPosition(entries, tt.done)
		if in.File != tt.file || in.FileDone != tt.fdone || in.FileBytes != tt.all {
			t.Errorf("at %d: %q %d/%d, want %q %d/%d", tt.done, in.File, in.FileDone, in.FileBytes, tt.file, tt.fdone, tt.all)
		}
	}
	done := Info{State: StateDone}
	done.atPosition(entries, 4)
	if done.File != "" {
		t.Errorf("a finished transfer names a file in progress: %q", done.File)
	}
}
