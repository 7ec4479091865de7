package main

import (
	"crypto/sha256"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ferry-dev/ferry/daemon/api"
)

// startRun runs `ferry run` on the data folder dir with extra flags,
// returns the line it prints when ready, and stops it when the test ends.
func startRun(t *testing.T, bin, dir string, extra ...string) string {
	t.Helper()
	return runFerry(t, bin, "alice", dir, filepath.Join(dir, "downloads"), append([]string{"--mdns=false"}, extra...)...)
}

// TestRunHTTPS: the HTTPS setting in config.json starts the HTTPS mode,
// whose port 'ferry run' and 'ferry status' print, with the fingerprint
// of the certificate in the data folder; --https=false wins over the file.
func TestRunHTTPS(t *testing.T) {
	bin := buildFerry(t)
	dir := filepath.Join(t.TempDir(), "data")
	os.MkdirAll(dir, 0o700)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"https": true}`), 0o600); err != nil {
		t.Fatal(err)
	}
	line := startRun(t, bin, dir)
	m := regexp.MustCompile(`on port (\d+) \(HTTPS on (\d+)\)`).FindStringSubmatch(line)
	if m == nil || m[1] == m[2] {
		t.Fatalf("ferry run printed %q, without its HTTPS port", line)
	}

	certPEM, err := os.ReadFile(filepath.Join(dir, "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	sum := sha256.Sum256(block.Bytes)
	hexes := make([]string, len(sum))
	for i, c := range sum {
		hexes[i] = fmt.Sprintf("%02X", c)
	}
	fp := strings.Join(hexes, ":")
	out, err := ferry(t, bin, "status", "--data-dir", dir)
	if err != nil || !regexp.MustCompile(`HTTPS port:\s+`+m[2]+"\n").MatchString(out) || !strings.Contains(out, "Certificate:  SHA-256 "+fp+"\n") {
		t.Fatalf("ferry status: %v\n%s\nwant HTTPS port %s and certificate SHA-256 %s", err, out, m[2], fp)
	}
	out, err = ferry(t, bin, "status", "--data-dir", dir, "--json")
	var st api.Status
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || fmt.Sprint(st.HTTPSPort) != m[2] || st.Fingerprint != fp {
		t.Fatalf("ferry status --json: %v\n%s", err, out)
	}

	// The flag wins over config.json, and a daemon without HTTPS says
	// nothing of it.
	off := filepath.Join(t.TempDir(), "data")
	os.MkdirAll(off, 0o700)
	os.WriteFile(filepath.Join(off, "config.json"), []byte(`{"https": true}`), 0o600)
	if line := startRun(t, bin, off, "--https=false"); strings.Contains(line, "(HTTPS on") || !strings.Contains(line, "alice") {
		t.Fatalf("ferry run --https=false printed %q", line)
	}
	if out, err := ferry(t, bin, "status", "--data-dir", off); err != nil || strings.Contains(out, "HTTPS port") || strings.Contains(out, "Certificate:") {
		t.Fatalf("ferry status without HTTPS: %v\n%s", err, out)
	}

	if out, err := ferry(t, bin, "run", "--data-dir", t.TempDir(), "--https-port", "70000"); err == nil || !strings.Contains(out, "--https-port must be between 0 and 65535, not 70000") {
		t.Fatalf("ferry run --https-port 70000: %v\n%s", err, out)
	}
}
