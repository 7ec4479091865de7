package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rsc.io/qr"
	"rsc.io/qr/coding"
)

var updateQRVectors = flag.Bool("update", false, "rewrite docs/testdata/qr.json from rsc.io/qr")

// qrVectorsPath is docs/testdata/qr.json, seen from this package's folder.
var qrVectorsPath = filepath.Join("..", "..", "docs", "testdata", "qr.json")

// qrSweepUnit is repeated and cut to length to make each sweep case's text.
const qrSweepUnit = "ferry QR sweep: 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ #&=?/\n"

var qrLevels = []struct {
	name  string
	level coding.Level
}{{"L", coding.L}, {"M", coding.M}, {"Q", coding.Q}, {"H", coding.H}}

// qrInputs are the cases whose whole matrix is in the file: every level,
// every mask, versions from 1 to past 7 (version information) and 10 (the
// 16-bit count), texts like the page's.
var qrInputs = []struct {
	name, text, level string
	mask              int
}{
	{"empty", "", "L", 0},
	{"one space", " ", "H", 1},
	{"ASCII", "Hello, world!", "M", 2},
	{"digits, still byte mode", "0123456789", "Q", 3},
	{"UTF-8", "héllo wörld — ferry ✓ 日本語 🚀", "Q", 4},
	{"controls", "tab\there\r\nnul\x00end", "L", 5},
	{"version 1-M full", strings.Repeat("x", 14), "M", 6},
	{"version 2-M, one byte more", strings.Repeat("x", 15), "M", 7},
	{"join link with a secret fragment", "http://192.168.1.23:7466/r/W8RVM5QK#k=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MC1fQUJD", "M", 0},
	{"https join link", "https://ferry-laptop.local:7467/r/K4PZ2Q7M#k=0123456789abcdef0123456789abcdef", "H", 3},
	{"pairing text, ~300 bytes", qrPairingText(300), "L", 1},
	{"pairing text, ~300 bytes, level H", qrPairingText(300), "H", 6},
	{"version 7, first byte past version 6", strings.Repeat("7", 107), "M", 4},
	{"~1,200 bytes", qrPairingText(1200), "M", 5},
	{"~1,200 bytes, level L", qrPairingText(1200), "L", 2},
}

// qrPairingText is about n bytes shaped like an offline WebRTC pairing text.
func qrPairingText(n int) string {
	var b strings.Builder
	b.WriteString("ferry-pair:v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n")
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "a=candidate:%d 1 udp 2122260223 192.168.%d.%d %d typ host generation 0\r\n", 842163049+i, i%7, 10+i, 50000+i*37)
		fmt.Fprintf(&b, "a=fingerprint:sha-256 %X\r\n", sha256.Sum256([]byte{byte(i)}))
	}
	return b.String()[:n]
}

// qrMatrix encodes text as rsc.io/qr does, but always in byte mode (its
// Encode picks numeric or alphanumeric mode where it can) and with the
// given mask (its Encode always uses mask 0).
func qrMatrix(text string, level coding.Level, mask int) (version int, rows []string, err error) {
	enc := coding.String(text)
	v := coding.Version(coding.MinVersion)
	for enc.Bits(v) > v.DataBytes(level)*8 {
		if v++; v > coding.MaxVersion {
			return 0, nil, fmt.Errorf("%d bytes do not fit at level %v", len(text), level)
		}
	}
	p, err := coding.NewPlan(v, level, coding.Mask(mask))
	if err != nil {
		return 0, nil, err
	}
	c, err := p.Encode(enc)
	if err != nil {
		return 0, nil, err
	}
	return int(v), qrRows(c.Size, c.Black), nil
}

func qrRows(size int, black func(x, y int) bool) []string {
	rows := make([]string, size)
	line := make([]byte, size)
	for y := range size {
		for x := range size {
			line[x] = '0'
			if black(x, y) {
				line[x] = '1'
			}
		}
		rows[y] = string(line)
	}
	return rows
}

// qrVectorsFile builds the whole of qr.json as rsc.io/qr makes it now.
func qrVectorsFile(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	// js writes v as compact JSON without HTML escaping, so the file reads plainly.
	js := func(v any) string {
		var s bytes.Buffer
		e := json.NewEncoder(&s)
		e.SetEscapeHTML(false)
		if err := e.Encode(v); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSuffix(s.String(), "\n")
	}
	about := []string{
		"QR codes made by rsc.io/qr (its coding package, byte mode, the mask forced), checked against ui/js/qr.js by ui/test/qr.test.js.",
		"Written by daemon/web/qr_vectors_test.go with -update or FERRY_UPDATE_VECTORS=1; without, that test fails if rsc.io/qr makes anything else.",
		"vectors: text, level, the version and mask used, and the matrix as rows of '0' (light) and '1' (dark), without the quiet zone.",
		"sweep: for every version and level, a text of the most bytes that version holds (sweepUnit repeated and cut to length bytes), the mask used and the SHA-256 of the rows joined with '\\n'.",
	}
	fmt.Fprintf(&b, "{\n  \"about\": %s,\n  \"sweepUnit\": %s,\n  \"vectors\": [\n", js(about), js(qrSweepUnit))
	for i, in := range qrInputs {
		var level coding.Level
		for _, l := range qrLevels {
			if l.name == in.level {
				level = l.level
			}
		}
		v, rows, err := qrMatrix(in.text, level, in.mask)
		if err != nil {
			t.Fatalf("%s: %v", in.name, err)
		}
		if in.mask == 0 {
			qrCheckEncode(t, in.text, level, rows)
		}
		fmt.Fprintf(&b, "    {\"name\": %s, \"text\": %s, \"level\": %q, \"version\": %d, \"mask\": %d, \"rows\": [\n",
			js(in.name), js(in.text), in.level, v, in.mask)
		for j, r := range rows {
			fmt.Fprintf(&b, "      %q%s\n", r, qrComma(j, len(rows)))
		}
		fmt.Fprintf(&b, "    ]}%s\n", qrComma(i, len(qrInputs)))
	}
	b.WriteString("  ],\n  \"sweep\": [\n")
	for v := coding.MinVersion; v <= coding.MaxVersion; v++ {
		for li, l := range qrLevels {
			countBits := 8
			if v >= 10 {
				countBits = 16
			}
			n := (coding.Version(v).DataBytes(l.level)*8 - 4 - countBits) / 8
			text := strings.Repeat(qrSweepUnit, n/len(qrSweepUnit)+1)[:n]
			mask := (v + li) % 8
			got, rows, err := qrMatrix(text, l.level, mask)
			if err != nil || got != v {
				t.Fatalf("version %d-%s: %d bytes give version %d, %v", v, l.name, n, got, err)
			}
			if _, _, err := qrMatrix(text+"x", l.level, mask); v == coding.MaxVersion && err == nil {
				t.Fatalf("version 40-%s: %d bytes fit", l.name, n+1)
			}
			sum := sha256.Sum256([]byte(strings.Join(rows, "\n")))
			comma := ","
			if v == coding.MaxVersion && li == len(qrLevels)-1 {
				comma = ""
			}
			fmt.Fprintf(&b, "    {\"level\": %q, \"version\": %d, \"length\": %d, \"mask\": %d, \"sha256\": %q}%s\n",
				l.name, v, n, mask, hex.EncodeToString(sum[:]), comma)
		}
	}
	b.WriteString("  ]\n}\n")
	return b.Bytes()
}

// qrCheckEncode makes sure qrMatrix draws what rsc.io/qr's own Encode does,
// where that Encode uses byte mode too.
func qrCheckEncode(t *testing.T, text string, level coding.Level, rows []string) {
	t.Helper()
	if coding.Num(text).Check() == nil || coding.Alpha(text).Check() == nil {
		return
	}
	c, err := qr.Encode(text, qr.Level(level))
	if err != nil {
		t.Fatalf("qr.Encode(%q): %v", text, err)
	}
	if got := qrRows(c.Size, c.Black); strings.Join(got, "\n") != strings.Join(rows, "\n") {
		t.Fatalf("qr.Encode(%q) draws another matrix than its coding package with mask 0", text)
	}
}

func qrComma(i, n int) string {
	if i < n-1 {
		return ","
	}
	return ""
}

// TestQRVectors keeps docs/testdata/qr.json equal to what rsc.io/qr makes,
// so the vectors the browser's encoder is checked against cannot drift.
func TestQRVectors(t *testing.T) {
	want := qrVectorsFile(t)
	if *updateQRVectors || os.Getenv("FERRY_UPDATE_VECTORS") == "1" {
		if err := os.WriteFile(qrVectorsPath, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(qrVectorsPath)
	if err != nil {
		t.Fatalf("reading the QR vectors (make them with go test -run QRVectors -update ./daemon/web/): %v", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range min(len(gl), len(wl)) {
		if gl[i] != wl[i] {
			t.Fatalf("%s differs from what rsc.io/qr makes, first at line %d:\n got %.200s\nwant %.200s\n(rewrite it with -update once the change is understood)", qrVectorsPath, i+1, gl[i], wl[i])
		}
	}
	t.Fatalf("%s has %d lines, rsc.io/qr makes %d", qrVectorsPath, len(gl), len(wl))
}
