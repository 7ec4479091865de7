package store

import (
	"errors"
	"strings"
	"testing"
)

func TestCleanPath(t *testing.T) {
	long := strings.Repeat("a", 300)
	tests := []struct {
		in, want string
	}{
		{"a.txt", ""},
		{"photos/2024/a b.jpg", ""},
		{"ünïcødé/名前.txt", ""},
		{"..", `bad file name "..": ".." is not allowed`},
		{"../x", `bad file name "../x": ".." is not allowed`},
		{"a/../../x", `bad file name "a/../../x": ".." is not allowed`},
		{"./x", `bad file name "./x": "." is not allowed`},
		{"/etc/passwd", `bad file name "/etc/passwd": absolute paths are not allowed`},
		{`C:\x`, `bad file name "C:\\x": drive letters are not allowed`},
		{"c:x", `bad file name "c:x": drive letters are not allowed`},
		{`a\b`, `bad file name "a\\b": backslashes are not allowed`},
		{"con", `bad file name "con": "con" is a reserved device name`},
		{"dir/LPT1.txt", `bad file name "dir/LPT1.txt": "LPT1.txt" is a reserved device name`},
		{"", `bad file name "": the name is empty`},
		{"a\x00b", `bad file name "a\x00b": the name contains a NUL byte`},
		{"a\nb", `bad file name "a\nb": the name contains a control character`},
		{"a//b", `bad file name "a//b": empty path components are not allowed`},
		{"a/", `bad file name "a/": empty path components are not allowed`},
		{"x.", `bad file name "x.": a component ends with a dot or a space`},
		{"what?", ""},
		{"\xff", `bad file name "\xff": the name is not valid UTF-8`},
		{long, `bad file name "` + long + `": a component is 300 bytes long (the limit is 255)`},
		{strings.Repeat("a/", 2100) + "a", `bad file name "` + strings.Repeat("a/", 2100) + `a": the path is 4201 bytes long (the limit is 4096)`},
	}
	for _, tt := range tests {
		got, err := CleanPath(tt.in)
		if tt.want == "" {
			if err != nil || got != tt.in {
				t.Errorf("CleanPath(%q) = %q, %v; want it accepted", tt.in, got, err)
			}
			continue
		}
		if err == nil || err.Error() != tt.want {
			t.Errorf("CleanPath(%q) error = %v; want %s", tt.in, err, tt.want)
		}
		if !errors.Is(err, ErrBadName) {
			t.Errorf("CleanPath(%q) error does not wrap ErrBadName", tt.in)
		}
	}
}

func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{"a", "a/b", "../x", "/etc/passwd", `C:\x`, "con", "a\x00", "", "a//b", "ü/ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		got, err := CleanPath(p)
		if err != nil {
			return
		}
		if got != p {
			t.Fatalf("accepted %q but changed it to %q", p, got)
		}
		for _, c := range strings.Split(got, "/") {
			if c == ".." || c == "." || c == "" {
				t.Fatalf("accepted %q with component %q", p, c)
			}
		}
		if strings.HasPrefix(got, "/") || strings.ContainsAny(got, "\\\x00") || hasDriveLetter(got) {
			t.Fatalf("accepted unsafe %q", p)
		}
	})
}
