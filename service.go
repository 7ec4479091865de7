package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/ferry-dev/ferry/daemon"
	"github.com/ferry-dev/ferry/daemon/datadir"
	"github.com/ferry-dev/ferry/installer"
)

// scopeFlags adds --user and --system to fs.
func scopeFlags(fs *flag.FlagSet) (user, system *bool) {
	return fs.Bool("user", false, "the per-user service (a systemd user unit, a launchd agent)"),
		fs.Bool("system", false, "the system service (started at boot; needs root or an administrator)")
}

// pickScope turns --user and --system into a scope; nil means either.
func pickScope(user, system bool) (*installer.Scope, error) {
	switch {
	case user && system:
		return nil, errors.New("--user and --system exclude each other")
	case user:
		s := installer.User
		return &s, nil
	case system:
		s := installer.System
		return &s, nil
	}
	return nil, nil
}

// findScope returns the scope ferry is installed in, limited by --user or
// --system when given.
func findScope(user, system bool) (installer.Scope, error) {
	only, err := pickScope(user, system)
	if err != nil {
		return 0, err
	}
	return installer.Find(only)
}

// serviceAccount returns the account and home folder a service of the given
// scope runs as: under sudo, a system service runs as the user who asked.
func serviceAccount(scope installer.Scope) (name, home string, err error) {
	if scope == installer.System && runtime.GOOS != "windows" {
		if su := os.Getenv("SUDO_USER"); su != "" && os.Geteuid() == 0 {
			u, err := user.Lookup(su)
			if err != nil {
				return "", "", err
			}
			return u.Username, u.HomeDir, nil
		}
	}
	home, err = os.UserHomeDir()
	if err != nil {
		return "", "", fmt.Errorf("finding your home folder: %w", err)
	}
	return "", home, nil
}

// dataDirIn mirrors os.UserConfigDir for another user's home folder.
func dataDirIn(home string) string {
	switch runtime.GOOS {
	case "darwin":
		return filepath.Join(home, "Library", "Application Support", "ferry")
	case "windows":
		return defaultDataDir()
	}
	return filepath.Join(home, ".config", "ferry")
}

func cmdInstall(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("install", "[--user | --system] [flags]", "install ferry as a service that starts at login (--user) or at boot (--system)", stderr)
	asUser, asSystem := scopeFlags(fs)
	dataDir := fs.String("data-dir", "", "folder for the identity, config and transfer state (default: the user's config folder)")
	downloads := fs.String("downloads", "", "folder for received files (default ~/Downloads)")
	name := fs.String("name", "", "device name shown to others (default: from the config file or the host name)")
	port := fs.Int("port", 0, "TCP port (default: from the config file or 7466)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("install takes no arguments, got %q", fs.Args())
	}
	only, err := pickScope(*asUser, *asSystem)
	if err != nil {
		return err
	}
	scope := installer.Scopes()[0]
	if only != nil {
		scope = *only
	}
	account, home, err := serviceAccount(scope)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the ferry binary: %w", err)
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return fmt.Errorf("finding the ferry binary: %w", err)
	}
	o := installer.Options{
		GOOS: runtime.GOOS, Scope: scope, Executable: exe,
		DataDir: *dataDir, Downloads: *downloads, Name: *name, Port: *port, UserName: account,
	}
	if o.DataDir == "" {
		o.DataDir = dataDirIn(home)
	}
	if o.Downloads == "" {
		o.Downloads = filepath.Join(home, "Downloads")
	}
	for _, p := range []*string{&o.DataDir, &o.Downloads} {
		if *p, err = filepath.Abs(*p); err != nil {
			return err
		}
	}
	if runtime.GOOS != "linux" {
		o.LogFile = filepath.Join(o.DataDir, "ferry.log")
	}
	if *port == 0 && portSet(fs) {
		return errors.New("a service needs a fixed port: pass --port 1-65535, or leave it out for 7466")
	}
	if o.Name != "" {
		if err := datadir.CheckName(o.Name); err != nil {
			return err
		}
	}
	if err := checkPort(o.Port, o.DataDir); err != nil {
		return err
	}
	res, err := installer.Install(o)
	if err != nil {
		return err
	}
	verb := "Installed"
	if res.Updated {
		verb = "Updated"
	}
	fmt.Fprintf(stdout, "%s ferry as a %s service and started it.\n", verb, scope)
	if res.Path != "" {
		fmt.Fprintf(stdout, "Service definition: %s\n", res.Path)
	}
	fmt.Fprintf(stdout, "Receiving into %s; data in %s.\n", o.Downloads, o.DataDir)
	fmt.Fprintf(stdout, "Dashboard: %s\n", dashboardURL(o.DataDir, o.Port))
	fmt.Fprintln(stdout, "Manage it with: ferry status | stop | start | restart | logs | uninstall")
	if res.Hint != "" {
		fmt.Fprintln(stdout, res.Hint)
	}
	return nil
}

// checkPort fails when another program holds the port the service will
// use. A ferry daemon of the same data folder holding it is fine: installing
// replaces it.
func checkPort(port int, dataDir string) error {
	if port == 0 {
		port = configPort(dataDir)
	}
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err == nil {
		ln.Close()
		return nil
	}
	if info, ok, _ := datadir.New(dataDir).ReadAPIInfo(); ok && strings.HasSuffix(info.Addr, ":"+strconv.Itoa(port)) {
		return nil
	}
	return fmt.Errorf("port %d is in use by another program: pick another with --port", port)
}

// configPort is the port in the config file of dataDir, or the default.
func configPort(dataDir string) int {
	if f, err := datadir.New(dataDir).LoadConfig(); err == nil && f.Port != nil {
		return *f.Port
	}
	return daemon.DefaultPort
}

func portSet(fs *flag.FlagSet) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "port" })
	return set
}

// dashboardURL is the address of the daemon's local dashboard.
func dashboardURL(dataDir string, port int) string {
	if port == 0 {
		port = configPort(dataDir)
	}
	return "http://localhost:" + strconv.Itoa(port) + "/"
}

func cmdUninstall(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("uninstall", "[--user | --system] [--purge]", "remove the ferry service; received files are always kept", stderr)
	asUser, asSystem := scopeFlags(fs)
	purge := fs.Bool("purge", false, "also delete the data folder: identity, trusted devices, config and unfinished transfers")
	dataDir := fs.String("data-dir", "", "the data folder --purge deletes (default: the user's config folder)")
	if err := parse(fs, args); err != nil {
		return err
	}
	scope, err := findScope(*asUser, *asSystem)
	if err != nil {
		return err
	}
	if err := installer.Control(scope, "uninstall"); err != nil {
		return fmt.Errorf("uninstalling: %w", err)
	}
	fmt.Fprintf(stdout, "Stopped and removed the ferry %s service.\n", scope)
	if !*purge {
		fmt.Fprintln(stdout, "Kept the data folder and every received file; 'ferry uninstall --purge' also deletes the data folder.")
		return nil
	}
	if *dataDir == "" {
		_, home, err := serviceAccount(scope)
		if err != nil {
			return err
		}
		*dataDir = dataDirIn(home)
	}
	if err := os.RemoveAll(*dataDir); err != nil {
		return fmt.Errorf("deleting %s: %w", *dataDir, err)
	}
	fmt.Fprintf(stdout, "Deleted %s. Received files are kept.\n", *dataDir)
	return nil
}

// controlCmd is ferry start, stop and restart.
func controlCmd(action, summary string) func(context.Context, []string, io.Writer, io.Writer) error {
	return func(_ context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlags(action, "[--user | --system]", summary, stderr)
		asUser, asSystem := scopeFlags(fs)
		if err := parse(fs, args); err != nil {
			return err
		}
		scope, err := findScope(*asUser, *asSystem)
		if err != nil {
			return err
		}
		if err := installer.Control(scope, action); err != nil {
			return fmt.Errorf("%s: %w", action, err)
		}
		state, _ := installer.State(scope)
		fmt.Fprintf(stdout, "ferry %s service: %s\n", scope, state)
		return nil
	}
}

func cmdLogs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("logs", "[-f] [-n LINES] [--user | --system]", "show the daemon's log: the service's, or that of 'ferry run --log-file'", stderr)
	asUser, asSystem := scopeFlags(fs)
	follow := fs.Bool("f", false, "keep showing new lines")
	lines := fs.Int("n", 100, "how many recent lines to show")
	dataDir := fs.String("data-dir", defaultDataDir(), "the daemon's data folder: its api.json says where a daemon in the foreground logs; a service's log file is there (macOS, Windows)")
	if err := parse(fs, args); err != nil {
		return err
	}
	src, err := findLog(*dataDir, *asUser, *asSystem)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "Showing %s.\n", src.about)
	if src.service {
		return installer.Logs(ctx, src.scope, src.file, *lines, *follow, stdout)
	}
	return installer.TailFile(ctx, src.file, *lines, *follow, stdout)
}

// logSource is the log 'ferry logs' shows.
type logSource struct {
	service bool
	scope   installer.Scope // of the service
	file    string          // the file to read, unless the service's log is a journal
	about   string          // which log it is, in words
}

// findLog finds the log of the daemon of dataDir: that of a daemon run in
// the foreground, when its api.json says one is (or was, if it was killed),
// otherwise the installed service's; --user or --system asks for the
// service's.
func findLog(dataDir string, user, system bool) (logSource, error) {
	info, running, _ := datadir.New(dataDir).ReadAPIInfo()
	if running && !info.Service && !user && !system {
		if info.Log == "" {
			return logSource{}, fmt.Errorf("the ferry daemon of %s was started in the foreground (pid %d) and logs to its terminal; to read its log with 'ferry logs', start it with 'ferry run --log-file FILE'", dataDir, info.PID)
		}
		return logSource{file: info.Log, about: fmt.Sprintf("the log of the ferry daemon started in the foreground (pid %d), %s", info.PID, info.Log)}, nil
	}
	scope, err := findScope(user, system)
	if err != nil && !running && !user && !system {
		// Neither a daemon in the foreground nor a service.
		return logSource{}, fmt.Errorf("no ferry daemon runs with data folder %s, and there is no service log either (%w); a daemon in the foreground logs to its terminal, or to the file of 'ferry run --log-file FILE' while it runs", dataDir, err)
	}
	if err != nil {
		return logSource{}, err
	}
	src := logSource{service: true, scope: scope, file: filepath.Join(dataDir, "ferry.log")}
	if running && info.Log != "" {
		src.file = info.Log
	}
	src.about = fmt.Sprintf("the log of the ferry %s service, %s", scope, src.file)
	if runtime.GOOS == "linux" {
		src.about = fmt.Sprintf("the log of the ferry %s service, from the systemd journal", scope)
	}
	return src, nil
}

// serviceLine describes the service for ferry status.
func serviceLine() string {
	scope, err := installer.Find(nil)
	if err != nil {
		if errors.Is(err, installer.ErrNotInstalled) {
			return "not installed (run 'ferry install')"
		}
		return err.Error()
	}
	state, err := installer.State(scope)
	if err != nil {
		return fmt.Sprintf("%s service: %v", scope, err)
	}
	return fmt.Sprintf("%s service, %s", scope, state)
}
