// Package installer registers ferry with the operating system's service
// manager (systemd, launchd, the Windows service manager) and runs the
// daemon under it.
package installer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/kardianos/service"
)

// ErrNotInstalled is returned when ferry is not registered in the scope
// asked for.
var ErrNotInstalled = errors.New("ferry is not installed as a service; install it with 'ferry install'")

// Scopes lists the scopes the running OS offers, the default first.
func Scopes() []Scope {
	if runtime.GOOS == "windows" {
		return []Scope{System}
	}
	return []Scope{User, System}
}

// Usable says whether ferry can manage a service of the given scope here,
// and if not, why not in words a user can act on.
func Usable(scope Scope) error {
	switch runtime.GOOS {
	case "linux":
		if _, err := os.Stat("/run/systemd/system"); err != nil || service.Platform() != "linux-systemd" {
			return errors.New("no service manager is running here (systemd is not running; a container has none): run 'ferry run' in the foreground instead")
		}
		if scope == User {
			if os.Geteuid() == 0 && os.Getenv("SUDO_USER") != "" {
				return errors.New("a user service belongs to your own login and 'systemctl --user' does not work under sudo: run 'ferry install' without sudo, or 'sudo ferry install --system'")
			}
			if os.Getenv("XDG_RUNTIME_DIR") == "" {
				return errors.New("your systemd user manager is not reachable (XDG_RUNTIME_DIR is not set): log in to a session, or install with 'sudo ferry install --system'")
			}
		}
	case "darwin":
	case "windows":
		if scope == User {
			return errors.New("Windows has no per-user services; use --system from an administrator prompt")
		}
	default:
		return fmt.Errorf("ferry cannot install a service on %s: run 'ferry run' under your own supervisor", runtime.GOOS)
	}
	if scope == System && runtime.GOOS != "windows" && os.Geteuid() != 0 {
		return errors.New("a system service needs root: run 'sudo ferry install --system'")
	}
	return nil
}

func newService(o Options) (service.Service, error) {
	return service.New(&Program{}, serviceConfig(o))
}

// serviceConfig describes ferry to the service library. The systemd unit and
// the launchd plist are complete files that pass through its template
// engine unchanged: Check keeps template delimiters out of them.
func serviceConfig(o Options) *service.Config {
	def, _ := o.Definition()
	opt := service.KeyValue{"UserService": o.Scope == User}
	switch o.GOOS {
	case "linux":
		opt["SystemdScript"] = def
	case "darwin":
		opt["LaunchdConfig"] = def
	case "windows":
		opt["StartType"] = "automatic"
		opt["DelayedAutoStart"] = true
		opt["OnFailure"] = "restart"
		opt["OnFailureDelayDuration"] = "5s"
	}
	return &service.Config{
		Name:        Name,
		DisplayName: "ferry",
		Description: description,
		Executable:  o.Executable,
		Arguments:   o.Arguments(),
		Option:      opt,
	}
}

// Result says what Install did.
type Result struct {
	Updated bool   // an earlier installation was replaced
	Path    string // the service definition's file, "" on Windows
	Hint    string // something the user should know, such as lingering
}

// Install registers the service described by o, replacing an earlier
// installation in place, and starts it.
func Install(o Options) (Result, error) {
	var res Result
	if err := o.Check(); err != nil {
		return res, err
	}
	if err := checkDownloads(o.Downloads, o.UserName); err != nil {
		return res, err
	}
	if err := Usable(o.Scope); err != nil {
		return res, err
	}
	svc, err := newService(o)
	if err != nil {
		return res, err
	}
	if _, err := svc.Status(); !errors.Is(err, service.ErrNotInstalled) {
		res.Updated = true
		svc.Stop()
		if err := svc.Uninstall(); err != nil {
			return res, fmt.Errorf("removing the earlier installation: %w", err)
		}
	}
	if err := svc.Install(); err != nil {
		return res, fmt.Errorf("installing the service: %w", err)
	}
	if err := svc.Start(); err != nil {
		return res, fmt.Errorf("the service is installed but did not start: %w", err)
	}
	res.Path = DefinitionPath(o.GOOS, o.Scope)
	if o.GOOS == "linux" && o.Scope == User {
		res.Hint = lingerHint()
	}
	return res, nil
}

// checkDownloads makes sure the service will be able to write into dir,
// creating it (owned by the service's user) if needed.
func checkDownloads(dir, owner string) error {
	_, statErr := os.Stat(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("the downloads folder %s cannot be created: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".ferry-install-*")
	if err != nil {
		return fmt.Errorf("the downloads folder %s is not writable: %w", dir, err)
	}
	f.Close()
	os.Remove(f.Name())
	if statErr != nil && owner != "" && runtime.GOOS != "windows" {
		if u, err := user.Lookup(owner); err == nil {
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			os.Chown(dir, uid, gid)
		}
	}
	return nil
}

// lingerHint tells how to keep a user unit running without a login.
func lingerHint() string {
	u, err := user.Current()
	if err != nil {
		return ""
	}
	if _, err := os.Stat(filepath.Join("/var/lib/systemd/linger", u.Username)); err == nil {
		return ""
	}
	return fmt.Sprintf("ferry starts when you log in. To run it from boot without a login, run: sudo loginctl enable-linger %s", u.Username)
}

// DefinitionPath is where the service manager keeps ferry's definition.
func DefinitionPath(goos string, scope Scope) string {
	home, _ := os.UserHomeDir()
	switch {
	case goos == "linux" && scope == User:
		return filepath.Join(home, ".config/systemd/user", Name+".service")
	case goos == "linux":
		return "/etc/systemd/system/" + Name + ".service"
	case goos == "darwin" && scope == User:
		return filepath.Join(home, "Library/LaunchAgents", Name+".plist")
	case goos == "darwin":
		return "/Library/LaunchDaemons/" + Name + ".plist"
	}
	return ""
}

// Find returns the scope ferry is installed in, trying the OS's scopes in
// order, or ErrNotInstalled. only, if not nil, limits the search.
func Find(only *Scope) (Scope, error) {
	var why error
	usable := 0
	for _, s := range Scopes() {
		if only != nil && s != *only {
			continue
		}
		if err := Usable(s); err != nil {
			if why == nil {
				why = err
			}
			continue
		}
		usable++
		svc, err := newService(Options{GOOS: runtime.GOOS, Scope: s})
		if err != nil {
			return s, err
		}
		if _, err := svc.Status(); !errors.Is(err, service.ErrNotInstalled) {
			return s, nil
		}
	}
	if usable == 0 && why != nil {
		return 0, why
	}
	return 0, ErrNotInstalled
}

// State reports the service's state as the OS sees it: running, stopped or
// failed.
func State(scope Scope) (string, error) {
	svc, err := newService(Options{GOOS: runtime.GOOS, Scope: scope})
	if err != nil {
		return "", err
	}
	st, err := svc.Status()
	switch {
	case errors.Is(err, service.ErrNotInstalled):
		return "", ErrNotInstalled
	case err != nil && strings.Contains(err.Error(), "failed"):
		return "failed", nil
	case err != nil:
		return "", err
	case st == service.StatusRunning:
		return "running", nil
	case st == service.StatusStopped:
		return "stopped", nil
	}
	return "unknown", nil
}

// Control runs one of start, stop, restart and uninstall on the service.
func Control(scope Scope, action string) error {
	svc, err := newService(Options{GOOS: runtime.GOOS, Scope: scope})
	if err != nil {
		return err
	}
	if action == "uninstall" {
		svc.Stop()
	}
	return service.Control(svc, action)
}

// Logs shows the service's recent log lines, following new ones if asked:
// from the journal under systemd, from logFile elsewhere.
func Logs(ctx context.Context, scope Scope, logFile string, lines int, follow bool, w io.Writer) error {
	if runtime.GOOS == "linux" {
		args := []string{"--no-pager", "-u", Name + ".service", "-n", strconv.Itoa(lines)}
		if scope == User {
			args = append(args, "--user")
		}
		if follow {
			args = append(args, "-f")
		}
		cmd := exec.CommandContext(ctx, "journalctl", args...)
		cmd.Stdout, cmd.Stderr = w, w
		if err := cmd.Run(); err != nil && ctx.Err() == nil {
			return fmt.Errorf("journalctl %s: %w", strings.Join(args, " "), err)
		}
		return nil
	}
	return tailFile(ctx, logFile, lines, follow, w)
}

// TailFile prints the last lines of the log file at path and, with follow,
// what is appended to it until ctx ends: the log of a daemon run in the
// foreground with --log-file.
func TailFile(ctx context.Context, path string, lines int, follow bool, w io.Writer) error {
	return tailFile(ctx, path, lines, follow, w)
}

// tailFile prints the last lines of path and, with follow, what is appended
// to it until ctx ends.
func tailFile(ctx context.Context, path string, lines int, follow bool, w io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("no log yet: %w", err)
	}
	defer f.Close()
	var last []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		last = append(last, sc.Text())
		if len(last) > lines {
			last = last[1:]
		}
	}
	for _, l := range last {
		fmt.Fprintln(w, l)
	}
	if !follow {
		return sc.Err()
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := io.Copy(w, f); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
