package datadir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWriteJSONReplacesAtomically(t *testing.T) {
	d := New(filepath.Join(t.TempDir(), "data"))
	var v map[string]int
	if ok, err := d.ReadJSON("x.json", &v); ok || err != nil {
		t.Fatalf("reading a missing file: %v %v", ok, err)
	}
	if err := d.WriteJSON("x.json", map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteJSON("x.json", map[string]int{"a": 2}); err != nil {
		t.Fatal(err)
	}
	if ok, err := d.ReadJSON("x.json", &v); !ok || err != nil || v["a"] != 2 {
		t.Fatalf("read back %v %v %v", v, ok, err)
	}
	st, err := os.Stat(d.File("x.json"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", st.Mode(), err)
	}
	left, _ := os.ReadDir(d.Path())
	if len(left) != 1 {
		t.Fatalf("temporary files left behind: %v", left)
	}
	if err := os.WriteFile(d.File("bad.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReadJSON("bad.json", &v); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Fatalf("a damaged file: %v", err)
	}
}

func TestConfig(t *testing.T) {
	d := New(t.TempDir())
	if c, err := d.LoadConfig(); err != nil || c.Name != "" {
		t.Fatalf("missing config: %+v %v", c, err)
	}
	if err := d.UpdateConfig(func(c *Config) { c.Name = "laptop"; c.Connect = append(c.Connect, "10.0.0.2:7466") }); err != nil {
		t.Fatal(err)
	}
	if err := d.UpdateConfig(func(c *Config) { c.Accept = AcceptTrusted }); err != nil {
		t.Fatal(err)
	}
	c, err := d.LoadConfig()
	if err != nil || c.Name != "laptop" || c.Accept != AcceptTrusted || len(c.Connect) != 1 {
		t.Fatalf("config %+v %v", c, err)
	}
	os.WriteFile(d.File(ConfigFile), []byte(`{"nmae":"typo"}`), 0o600)
	if _, err := d.LoadConfig(); err == nil || !strings.Contains(err.Error(), "nmae") {
		t.Fatalf("an unknown field: %v", err)
	}
}

func TestChecks(t *testing.T) {
	for _, tt := range []struct{ name, err string }{
		{"laptop", ""},
		{"  ", "the device name is empty"},
		{strings.Repeat("x", 65), "65 bytes long (the limit is 64)"},
		{"bell\x07", "contains a control character"},
	} {
		err := CheckName(tt.name)
		if (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("CheckName(%q) = %v, want %q", tt.name, err, tt.err)
		}
	}
	if err := CheckAccept("some"); err == nil || !strings.Contains(err.Error(), "none, trusted or all") {
		t.Errorf("CheckAccept: %v", err)
	}
}

func TestRooms(t *testing.T) {
	d := New(t.TempDir())
	if err := d.SaveRooms([]string{"ABCDEF"}); err != nil {
		t.Fatal(err)
	}
	if got, err := d.LoadRooms(time.Hour); err != nil || len(got) != 1 || got[0] != "ABCDEF" {
		t.Fatalf("LoadRooms = %v, %v", got, err)
	}
	if got, _ := d.LoadRooms(0); len(got) != 0 {
		t.Fatalf("rooms older than the TTL: %v", got)
	}
}

func TestStatesRoundTrip(t *testing.T) {
	s := New(t.TempDir()).States()
	if ids, err := s.List(); err != nil || len(ids) != 0 {
		t.Fatalf("List on a new folder = %v, %v", ids, err)
	}
	type st struct{ N int }
	if err := s.Save("abc-1", st{7}); err != nil {
		t.Fatal(err)
	}
	var got st
	if err := s.Load("abc-1", &got); err != nil || got.N != 7 {
		t.Fatalf("Load = %+v, %v", got, err)
	}
	if err := s.Save("../x", st{}); err == nil {
		t.Fatal("saved a state under a path-like ID")
	}
	ids, _ := s.List()
	if len(ids) != 1 || ids[0] != "abc-1" {
		t.Fatalf("List = %v", ids)
	}
	s.Remove("abc-1")
	if ids, _ := s.List(); len(ids) != 0 {
		t.Fatalf("List after Remove = %v", ids)
	}
}
