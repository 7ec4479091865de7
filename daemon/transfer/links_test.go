package transfer

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestAddSpan(t *testing.T) {
	var s []span
	for _, c := range []struct {
		add  span
		want []span
	}{
		{span{10, 20}, []span{{10, 20}}},
		{span{30, 40}, []span{{10, 20}, {30, 40}}},
		{span{0, 5}, []span{{0, 5}, {10, 20}, {30, 40}}},
		{span{15, 30}, []span{{0, 5}, {10, 40}}}, // bridges two, touching the second
		{span{5, 10}, []span{{0, 40}}},           // touching both sides
		{span{2, 3}, []span{{0, 40}}},            // inside
		{span{40, 50}, []span{{0, 50}}},
	} {
		s = addSpan(s, c.add)
		if fmt.Sprint(s) != fmt.Sprint(c.want) {
			t.Fatalf("after adding %v: %v, want %v", c.add, s, c.want)
		}
	}
	if covered(s) != 50 {
		t.Fatalf("covered %d, want 50", covered(s))
	}
}

// TestServeLink: a browser's download of a link, broken off and continued
// with a Range request as a browser's download manager does, delivers
// the file exactly; the bytes sent twice count once toward the transfer's
// progress; the link keeps answering for linkGrace after the file went out
// in full and then no more; an unknown token and a file changed on disk
// are refused.
func TestServeLink(t *testing.T) {
	n := startNode(t, nodeOpts{})
	dir := t.TempDir()
	src := filepath.Join(dir, "clip.bin")
	const size = 3<<20 + 17
	writeRandom(t, src, size)
	want, _ := os.ReadFile(src)
	o := &outgoing{m: n.m, linksDone: make(chan struct{}, 1)}
	token, err := n.m.links.add(o, 0, src, Entry{Path: "holiday/clip.bin", Size: size})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.m.ServeLink(w, r, filepath.Base(filepath.Dir(r.URL.Path)))
	}))
	defer srv.Close()
	get := func(tok, rng string) *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+LinkPrefix+tok+"/clip.bin", nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	// The first try breaks off after 1 MiB, read to the end of what went out.
	resp := get(token, "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Disposition") != "attachment; filename*=UTF-8''clip.bin" {
		t.Fatalf("first request: %s, disposition %q", resp.Status, resp.Header.Get("Content-Disposition"))
	}
	got := make([]byte, 1<<20)
	if _, err := io.ReadFull(resp.Body, got); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	// The second asks for the rest, and a bit that went before again.
	from := int64(len(got)) - 1000
	resp = get(token, fmt.Sprintf("bytes=%d-", from))
	rest, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusPartialContent {
		t.Fatalf("range request: %s %v", resp.Status, err)
	}
	whole := append(got[:from], rest...)
	if !bytes.Equal(whole, want) {
		t.Fatalf("the download differs from the file: %d bytes of %d", len(whole), size)
	}
	select {
	case <-o.linksDone:
	case <-time.After(transferPatience):
		t.Fatal("the transfer did not hear that the file went out")
	}
	o.mu.Lock()
	done, sent, verified := o.done, o.sent, o.verified
	o.mu.Unlock()
	if done != size || verified != 1 || sent < size {
		t.Fatalf("the transfer counts %d done, %d sent, %d complete; want %d done", done, sent, verified, size)
	}
	if n, _ := n.m.links.pending(o); n != 0 {
		t.Fatalf("%d links still pending", n)
	}

	// Within the grace the tail can be asked again; after it, nothing.
	resp = get(token, fmt.Sprintf("bytes=%d-", size-10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent {
		t.Fatalf("the tail again within the grace: %s", resp.Status)
	}
	n.m.links.mu.Lock()
	n.m.links.by[token].spent = time.Now().Add(-linkGrace - time.Second)
	n.m.links.mu.Unlock()
	for _, tok := range []string{token, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		resp = get(tok, "")
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("a spent or unknown link answered %s", resp.Status)
		}
	}

	// A file changed since it was offered is refused, not served.
	token, err = n.m.links.add(o, 0, src, Entry{Path: "clip.bin", Size: size})
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	os.Chtimes(src, later, later)
	resp = get(token, "")
	resp.Body.Close()
	if resp.StatusCode != http.StatusGone {
		t.Fatalf("a changed file answered %s", resp.Status)
	}
}
