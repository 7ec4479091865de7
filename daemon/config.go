package daemon

import (
	"log/slog"
	"net"
	"time"

	"github.com/ferry-dev/ferry/discovery"
)

// DefaultPort is where a daemon listens unless told otherwise, so people and
// peers can find it.
const DefaultPort = 7466

// Config is everything a daemon needs; the CLI fills it from flags and the
// config file (datadir.Config).
type Config struct {
	DataDir    string
	Downloads  string
	Name       string
	Port       int          // used when Listener is nil
	Listener   net.Listener // tests pass 127.0.0.1:0
	Accept     string       // datadir.AcceptNone, AcceptTrusted or AcceptAll
	Interfaces []string
	PendingTTL time.Duration
	ResumeFor  time.Duration
	Version    string
	Log        *slog.Logger
	// KeepInterrupted is how long an interrupted incoming transfer keeps
	// its part files with nothing arriving; 0 means 7 days
	// (transfer.DefaultKeepInterrupted).
	KeepInterrupted time.Duration
	// Discovery announces the daemon and finds others; nil turns mDNS
	// off (tests, and networks where it is not wanted).
	Discovery discovery.Backend
	// DiscoveryCycle is how often the network is asked again; 0 means 10 s.
	// A daemon not seen for three cycles is dropped.
	DiscoveryCycle time.Duration
	// Connect lists daemons to add by address.
	Connect []string
	// Service reports that the daemon runs under the OS service manager
	// (ferry install), not in a terminal.
	Service bool
	// LogFile is the file Log writes to, if it writes to one; clients
	// find it in api.json ('ferry logs').
	LogFile string
	// UIDir, if set, serves the web UI from this folder instead of the
	// copy built into the binary, so UI work needs no rebuild.
	UIDir string
	// Ready, if set, is called once the daemon serves and clients can
	// find it through the data folder's api.json.
	Ready func()
	// HTTPS also serves the pages over HTTPS with the device's own
	// certificate, so a phone's page is a secure context. It listens on
	// HTTPSListener if set, else on HTTPSPort, else on the port after
	// Port, or on any free port when Port is 0 or Listener is set.
	HTTPS         bool
	HTTPSPort     int
	HTTPSListener net.Listener
}
