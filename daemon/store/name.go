package store

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"unicode/utf8"
)

// Limits on names from the network. Most file systems allow 255 bytes for one
// component; paths are capped well below PATH_MAX on every OS we build for.
const (
	MaxComponentBytes = 255
	MaxPathBytes      = 4096
)

// ErrBadName is wrapped by every NameError.
var ErrBadName = errors.New("bad file name")

// NameError says which name was refused and why.
type NameError struct {
	Name   string
	Reason string
}

func (e *NameError) Error() string {
	return fmt.Sprintf("bad file name %q: %s", e.Name, e.Reason)
}

func (e *NameError) Unwrap() error { return ErrBadName }

// CleanPath validates a slash-separated relative path received from a peer and
// returns it unchanged when it is safe to create inside the downloads folder on
// any OS ferry runs on. It refuses rather than repairs: a name that needs
// repairing was not made by an honest sender.
func CleanPath(p string) (string, error) {
	bad := func(reason string) (string, error) {
		return "", &NameError{Name: p, Reason: reason}
	}
	switch {
	case p == "":
		return bad("the name is empty")
	case len(p) > MaxPathBytes:
		return bad(fmt.Sprintf("the path is %d bytes long (the limit is %d)", len(p), MaxPathBytes))
	case !utf8.ValidString(p):
		return bad("the name is not valid UTF-8")
	case strings.ContainsRune(p, 0):
		return bad("the name contains a NUL byte")
	case hasDriveLetter(p):
		return bad("drive letters are not allowed")
	case strings.HasPrefix(p, "/"):
		return bad("absolute paths are not allowed")
	case strings.ContainsRune(p, '\\'):
		return bad(`backslashes are not allowed`)
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return bad("the name contains a control character")
		}
	}
	for _, c := range strings.Split(p, "/") {
		if reason := badComponent(c); reason != "" {
			return bad(reason)
		}
	}
	return p, nil
}

func hasDriveLetter(p string) bool {
	if len(p) < 2 || p[1] != ':' {
		return false
	}
	c := p[0] | 0x20
	return c >= 'a' && c <= 'z'
}

// badComponent returns why one path component is refused, or "".
func badComponent(c string) string {
	switch {
	case c == "":
		return "empty path components are not allowed"
	case c == "." || c == "..":
		return fmt.Sprintf("%q is not allowed", c)
	case len(c) > MaxComponentBytes:
		return fmt.Sprintf("a component is %d bytes long (the limit is %d)", len(c), MaxComponentBytes)
	case strings.HasSuffix(c, ".") || strings.HasSuffix(c, " "):
		// Windows silently strips these, which would make two names one.
		return "a component ends with a dot or a space"
	case isReservedDevice(c):
		return fmt.Sprintf("%q is a reserved device name", c)
	}
	return ""
}

// isReservedDevice reports whether Windows treats the component as a device,
// with or without an extension (https://learn.microsoft.com/windows/win32/fileio/naming-a-file).
func isReservedDevice(c string) bool {
	base, _, _ := strings.Cut(c, ".")
	base = strings.ToUpper(strings.TrimRight(base, " "))
	switch base {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	if len(base) == 4 && (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) {
		d := base[3]
		return d >= '0' && d <= '9'
	}
	return false
}

// LocalPath maps a cleaned wire path to one this OS can create: on Windows the
// characters it forbids in names become "_"; elsewhere the path is unchanged.
func LocalPath(p string) string {
	if runtime.GOOS != "windows" {
		return p
	}
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(`<>:"|?*`, r) {
			return '_'
		}
		return r
	}, p)
}
