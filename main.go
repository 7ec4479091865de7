// Command ferry sends files between devices on the same network, directly.
// See README.md for usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/ferry-dev/ferry/daemon"
	"github.com/ferry-dev/ferry/daemon/datadir"
	"github.com/ferry-dev/ferry/discovery"
	"github.com/ferry-dev/ferry/installer"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type command struct {
	name    string
	args    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"run", "[flags]", "run the daemon in the foreground", cmdRun},
		{"send", "--to NAME PATH... | --room CODE PATH...", "send files and folders to another daemon or a room", cmdSend},
		{"status", "", "show this daemon's name, device ID, addresses and transfers", cmdStatus},
		{"transfers", "[-f] [ID]", "list current and recent transfers, or show or follow one", cmdTransfers},
		{"accept", "ID", "accept a pending incoming offer", answerCmd("accept")},
		{"decline", "ID", "decline a pending incoming offer", answerCmd("decline")},
		{"cancel", "ID", "cancel a transfer in either direction", answerCmd("cancel")},
		{"clean", "", "remove the .part files of interrupted incoming transfers", cmdClean},
		{"forget", "HOST:PORT", "forget the device remembered at an address", peerCmd("forget", "HOST:PORT", "forget the device remembered at an address", showForget)},
		{"peers", "", "list nearby ferry daemons", cmdPeers},
		{"trust", "NAME|ID", "trust a nearby device and show the code to compare", peerCmd("trust", "NAME|ID", "trust a nearby device and show the code to compare", showTrust)},
		{"untrust", "NAME|ID", "stop trusting a device", peerCmd("untrust", "NAME|ID", "stop trusting a device", showUntrust)},
		{"connect", "HOST:PORT", "add a daemon by address where multicast is blocked", peerCmd("connect", "HOST:PORT", "add a daemon by address where multicast is blocked", showConnect)},
		{"rooms", "", "list everyone nearby and the code rooms", cmdRooms},
		{"room", "create | join CODE | leave CODE", "make, join or leave a code room", cmdRoom},
		{"pair", pairArgs, pairSummary, cmdPair},
		{"install", "[--user | --system]", "install ferry as a service that starts by itself", cmdInstall},
		{"uninstall", "[--purge]", "stop and remove the service", cmdUninstall},
		{"start", "", "start the installed service", controlCmd("start", "start the installed service")},
		{"stop", "", "stop the installed service", controlCmd("stop", "stop the installed service")},
		{"restart", "", "restart the installed service", controlCmd("restart", "restart the installed service")},
		{"logs", "[-f]", "show the daemon's log: the service's, or that of 'ferry run --log-file'", cmdLogs},
		{"version", "", "print the version", func(_ context.Context, _ []string, w, _ io.Writer) error {
			fmt.Fprintln(w, "ferry", version)
			return nil
		}},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(runMain(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// errUsage marks an error whose message is the usage already printed.
var errUsage = errors.New("usage")

func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "--help" || args[0] == "-h" {
		if len(args) > 1 {
			args = []string{args[1], "--help"}
		} else {
			usage(stdout)
			return 0
		}
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout, stderr)
			switch {
			case err == nil, errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				return 2
			}
			fmt.Fprintln(stderr, "ferry:", err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "ferry: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "ferry sends files between devices on the same network, directly.")
	fmt.Fprintln(w, "\nUsage: ferry COMMAND [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'ferry COMMAND --help' for a command's flags.")
}

// newFlags returns a flag set that prints the command's usage on --help and
// reports bad flags as errUsage.
func newFlags(name, args, summary string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: ferry %s %s\n\n%s.\n", name, args, strings.ToUpper(summary[:1])+summary[1:])
		var any bool
		fs.VisitAll(func(*flag.Flag) { any = true })
		if any {
			fmt.Fprintln(stderr, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

// defaultDataDir is where a daemon keeps its identity and state unless told.
func defaultDataDir() string {
	if dir, err := os.UserConfigDir(); err == nil {
		return filepath.Join(dir, "ferry")
	}
	return ".ferry"
}

func defaultDownloads() string {
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, "Downloads")
	}
	return "Downloads"
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", "[flags]", "run the daemon in the foreground, with logs on the terminal", stderr)
	dataDir := fs.String("data-dir", defaultDataDir(), "folder for the identity, config and transfer state")
	downloads := fs.String("downloads", "", "folder for received files (default ~/Downloads)")
	name := fs.String("name", "", "device name shown to others (default: the host name)")
	port := fs.Int("port", daemon.DefaultPort, "TCP port for peers and the local API; 0 picks a free one")
	https := fs.Bool("https", false, "also serve the guest page over HTTPS with this device's own certificate, so phones get a secure page (docs/https.md)")
	httpsPort := fs.Int("https-port", 0, "TCP port for --https (default: the one after --port, or a free one when --port is 0)")
	accept := fs.String("accept", "", "which offers to accept without asking: none, trusted or all (default none)")
	ifaces := fs.String("interfaces", "", "comma-separated network interfaces to use (default: all but loopback and virtual ones)")
	logLevel := fs.String("log-level", "", "debug, info, warn or error (default info)")
	logFile := fs.String("log-file", "", "append the log to this file instead of the terminal")
	asService := fs.Bool("service", false, "run under the OS service manager (set by 'ferry install')")
	mdns := fs.Bool("mdns", true, "announce this daemon and find others with mDNS")
	uiDir := fs.String("ui-dir", "", "serve the web UI from this folder instead of the copy built in (for working on ui/)")
	cycle := fs.Duration("discovery-interval", 10*time.Second, "how often to ask the network for other daemons; one unseen for three intervals is dropped")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("run takes no arguments, got %q", fs.Args())
	}
	file, err := datadir.New(*dataDir).LoadConfig()
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	pick := func(flagVal string, flagSet bool, fileVal, def string) string {
		switch {
		case flagSet:
			return flagVal
		case fileVal != "":
			return fileVal
		}
		return def
	}
	host, _ := os.Hostname()
	cfg := daemon.Config{
		DataDir:   *dataDir,
		Downloads: pick(*downloads, set["downloads"], file.Downloads, defaultDownloads()),
		Name:      pick(*name, set["name"], file.Name, host),
		Accept:    pick(*accept, set["accept"], file.Accept, datadir.AcceptNone),
		Port:      *port,
		Version:   version,
		Connect:   file.Connect,
		UIDir:     *uiDir,
		Service:   *asService,
	}
	if *mdns {
		cfg.Discovery = discovery.Zeroconf{}
	}
	if *cycle < 100*time.Millisecond {
		return fmt.Errorf("--discovery-interval must be at least 100ms, not %s", *cycle)
	}
	cfg.DiscoveryCycle = *cycle
	if !set["port"] && file.Port != nil {
		cfg.Port = *file.Port
	}
	cfg.HTTPS, cfg.HTTPSPort = file.HTTPS, file.HTTPSPort
	if set["https"] {
		cfg.HTTPS = *https
	}
	if set["https-port"] {
		cfg.HTTPSPort = *httpsPort
	}
	if cfg.HTTPSPort < 0 || cfg.HTTPSPort > 65535 {
		return fmt.Errorf("--https-port must be between 0 and 65535, not %d", cfg.HTTPSPort)
	}
	if set["interfaces"] {
		cfg.Interfaces = splitList(*ifaces)
	} else {
		cfg.Interfaces = file.Interfaces
	}
	if cfg.Downloads, err = filepath.Abs(cfg.Downloads); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(pick(*logLevel, set["log-level"], file.LogLevel, "info"))); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	logTo, logNote := stderr, ""
	if *logFile != "" {
		if cfg.LogFile, err = filepath.Abs(*logFile); err != nil {
			return fmt.Errorf("--log-file: %w", err)
		}
		f, err := openLog(cfg.LogFile)
		if err != nil {
			return err
		}
		defer f.Close()
		logTo, logNote = f, "; log in "+cfg.LogFile
	}
	cfg.Log = slog.New(slog.NewTextHandler(logTo, &slog.HandlerOptions{Level: level}))
	var d *daemon.Daemon
	if !*asService {
		cfg.Ready = func() {
			ports := fmt.Sprintf("port %d", d.Addr().(*net.TCPAddr).Port)
			if a := d.HTTPSAddr(); a != nil {
				ports += fmt.Sprintf(" (HTTPS on %d)", a.(*net.TCPAddr).Port)
			}
			fmt.Fprintf(stdout, "ferry %s: %s (%s) on %s, saving to %s%s\n", version, cfg.Name, d.ID().Short(), ports, cfg.Downloads, logNote)
		}
	}
	d, err = daemon.New(cfg)
	if err != nil {
		return err
	}
	if path := os.Getenv("FERRY_CPUPROFILE"); path != "" {
		// For measuring: a CPU profile of the whole run, written at exit.
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("FERRY_CPUPROFILE: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("FERRY_CPUPROFILE: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if *asService {
		return installer.Run(ctx, d.Run)
	}
	return d.Run(ctx)
}

// maxLog is the size at which a log file is moved aside to name.1 when the
// daemon starts.
const maxLog = 10 << 20

func openLog(path string) (*os.File, error) {
	if st, err := os.Stat(path); err == nil && st.Size() > maxLog {
		os.Rename(path, path+".1")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("--log-file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("--log-file: %w", err)
	}
	return f, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
