package discovery

import (
	"encoding/base32"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ServiceType is the DNS-SD service type ferry daemons announce.
const ServiceType = "_ferry._tcp"

// Version is the discovery record's version, sent as v= in the TXT record.
const Version = 1

// maxName bounds the name in the TXT record, well under the 255 bytes a
// TXT string may hold.
const maxName = 200

// idEncoding is the text form of a device ID: its 32 bytes (the SHA-256 of
// the device's certificate) as 52 base32 characters, A–Z and 2–7, without
// padding. The daemon's identity package defines the same form; discovery
// keeps its own copy so it needs nothing from the daemon.
var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// idLen is the length of a device ID in text form.
const idLen = 52

// validID reports whether s is a device ID exactly as a daemon writes it.
// The round trip refuses lower case, dashes, the newlines the base32 decoder
// skips and a last character with stray low bits, so that one device has
// one ID string and one entry in the table.
func validID(s string) bool {
	if len(s) != idLen {
		return false
	}
	b, err := idEncoding.DecodeString(s)
	return err == nil && len(b) == 32 && idEncoding.EncodeToString(b) == s
}

// shortID returns the first eight characters of a device ID, grouped for
// reading aloud ("ABCD-EFGH"), as the daemon's identity package does. An
// ID too short to group is returned as it is.
func shortID(id string) string {
	if len(id) < 8 {
		return id
	}
	return id[:4] + "-" + id[4:8]
}

// Record is what a daemon announces about itself.
type Record struct {
	ID      string // device ID in text form: 52 characters of A–Z and 2–7
	Name    string
	Port    int
	Version int
}

// Short returns the device ID's short form, as in "ABCD-EFGH".
func (r Record) Short() string { return shortID(r.ID) }

// Host is the host name the daemon's SRV record names, under .local.:
// "ferry-" and the first eight characters of the device ID in lower case.
// It is unique to the daemon, unlike the OS host name, which several
// machines (or several daemons on one) may share; resolvers that cache
// addresses by host name would then send every such daemon's peers to
// one of them.
func (r Record) Host() string {
	return "ferry-" + strings.ToLower(r.ID[:min(8, len(r.ID))])
}

// TXT encodes r as DNS-SD TXT strings, each under 255 bytes.
func (r Record) TXT() []string {
	return []string{
		"id=" + r.ID,
		"v=" + strconv.Itoa(Version),
		"port=" + strconv.Itoa(r.Port),
		"name=" + truncate(r.Name, maxName),
	}
}

// Instance is the DNS-SD instance name: the device name made unique with
// the short device ID, within the 63 bytes of a DNS label.
func (r Record) Instance() string {
	suffix := " [" + r.Short() + "]"
	return truncate(strings.Map(func(r rune) rune {
		if r == '.' || unicode.IsControl(r) {
			return '-'
		}
		return r
	}, r.Name), 63-len(suffix)) + suffix
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ParseTXT decodes and validates a TXT record. Every field is required;
// anything malformed is an error that says which.
func ParseTXT(txt []string) (Record, error) {
	var r Record
	seen := map[string]bool{}
	for _, kv := range txt {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue // a bare key is a boolean attribute ferry does not use
		}
		k = strings.ToLower(k)
		if seen[k] {
			return r, fmt.Errorf("TXT key %q appears twice", k)
		}
		seen[k] = true
		switch k {
		case "id":
			if !validID(v) {
				return r, fmt.Errorf("TXT id=%q is not a device ID: want %d characters of A-Z and 2-7", v, idLen)
			}
			r.ID = v
		case "v":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return r, fmt.Errorf("TXT v=%q is not a version", v)
			}
			r.Version = n
		case "port":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 65535 {
				return r, fmt.Errorf("TXT port=%q is not a port", v)
			}
			r.Port = n
		case "name":
			if !utf8.ValidString(v) || strings.TrimSpace(v) == "" || len(v) > maxName {
				return r, fmt.Errorf("TXT name is empty, too long or not UTF-8")
			}
			for _, c := range v {
				if unicode.IsControl(c) {
					return r, fmt.Errorf("TXT name contains a control character")
				}
			}
			r.Name = v
		}
	}
	for _, k := range []string{"id", "v", "port", "name"} {
		if !seen[k] {
			return r, fmt.Errorf("TXT record has no %s", k)
		}
	}
	if r.Version != Version {
		return r, fmt.Errorf("discovery version %d is not supported (this daemon speaks %d)", r.Version, Version)
	}
	return r, nil
}

// Sighting is one daemon seen on the network.
type Sighting struct {
	Record
	Addrs []netip.Addr
}
