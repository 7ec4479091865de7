package transfer

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestSendSizes(t *testing.T) {
	sender := startNode(t, nodeOpts{})
	receiver := startNode(t, nodeOpts{autoAccept: true})
	for _, size := range []int64{0, 1, 65535, 65536, 65537, 100 << 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			src := filepath.Join(t.TempDir(), fmt.Sprintf("f%d.bin", size))
			want := writeRandom(t, src, size)
			id, err := sender.m.Send(receiver.direct(), []string{src})
			if err != nil {
				t.Fatal(err)
			}
			out := sender.wait(id, final)
			if out.State != StateDone || out.Verified != 1 {
				t.Fatalf("sender ended %+v", out)
			}
			if out.Sent != size {
				t.Errorf("sent %d bytes for a %d-byte file", out.Sent, size)
			}
			got := fileHash(t, filepath.Join(receiver.dl, filepath.Base(src)))
			if got != want {
				t.Fatalf("received hash %s, want %s", got, want)
			}
			in := receiver.wait(id, final)
			if in.State != StateDone || in.Done != size {
				t.Fatalf("receiver ended %+v", in)
			}
		})
	}
	if entries, _ := os.ReadDir(filepath.Join(receiver.dir, "transfers")); len(entries) != 0 {
		t.Errorf("resume state left after completed transfers: %v", entries)
	}
}
