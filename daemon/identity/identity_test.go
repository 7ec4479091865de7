package identity

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadCreatesOnceAndReuses(t *testing.T) {
	dir := t.TempDir()
	a, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != ID(sha256.Sum256(a.Cert.Raw)) {
		t.Fatal("ID is not the certificate's SHA-256")
	}
	for _, f := range []string{keyFile, certFile} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", f, st.Mode().Perm(), err)
		}
	}
	b, err := Load(dir)
	if err != nil || b.ID != a.ID {
		t.Fatalf("second Load gave %v, %v; want the same ID %v", b.ID, err, a.ID)
	}
}

func TestLoadRefusesHalfAnIdentity(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, certFile))
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Load with the certificate missing = %v; want an error naming it", err)
	}
}

func TestIDForms(t *testing.T) {
	id := ID(sha256.Sum256([]byte("x")))
	s := id.String()
	if len(s) != 52 {
		t.Fatalf("String() has %d characters", len(s))
	}
	back, err := ParseID(strings.ToLower(s[:10]) + "-" + s[10:])
	if err != nil || back != id {
		t.Fatalf("ParseID round trip = %v, %v", back, err)
	}
	if id.Short() != s[:4]+"-"+s[4:8] {
		t.Fatalf("Short() = %s", id.Short())
	}
	var colon []string
	for _, b := range id {
		colon = append(colon, strings.ToUpper(string("0123456789abcdef"[b>>4])+string("0123456789abcdef"[b&15])))
	}
	fp, err := FromFingerprint("sha-256", strings.Join(colon, ":"))
	if err != nil || fp != id {
		t.Fatalf("FromFingerprint = %v, %v", fp, err)
	}
	if _, err := FromFingerprint("sha-1", "AB"); err == nil {
		t.Fatal("accepted a sha-1 fingerprint")
	}
	if _, err := ParseID("short"); err == nil {
		t.Fatal("accepted a short ID")
	}
}
