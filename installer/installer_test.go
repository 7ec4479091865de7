package installer

import (
	"bytes"
	"encoding/json"
	"flag"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/kardianos/service"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./installer -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the generated definition:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// The options a real install would use on each OS.
var (
	linuxUser = Options{
		GOOS: "linux", Scope: User, Executable: "/home/alex/.local/bin/ferry",
		DataDir: "/home/alex/.config/ferry", Downloads: "/home/alex/Downloads",
		Name: "Alex's laptop", Port: 7466,
	}
	linuxSystem = Options{
		GOOS: "linux", Scope: System, Executable: "/usr/local/bin/ferry",
		DataDir: "/home/alex/.config/ferry", Downloads: "/home/alex/Shared 100% files",
		UserName: "alex",
	}
	darwinAgent = Options{
		GOOS: "darwin", Scope: User, Executable: "/opt/homebrew/bin/ferry",
		DataDir: "/Users/alex/Library/Application Support/ferry", Downloads: "/Users/alex/Downloads",
		Name: "Alex & Sam's Mac", Port: 7466, LogFile: "/Users/alex/Library/Application Support/ferry/ferry.log",
	}
	windowsService = Options{
		GOOS: "windows", Scope: System, Executable: `C:\Program Files\ferry\ferry.exe`,
		DataDir: `C:\Users\alex\AppData\Roaming\ferry`, Downloads: `C:\Users\alex\Downloads`,
		Name: "ALEX-PC", Port: 7466, LogFile: `C:\Users\alex\AppData\Roaming\ferry\ferry.log`,
	}
)

func TestDefinitionsGolden(t *testing.T) {
	for _, c := range []struct {
		file string
		o    Options
	}{
		{"systemd-user.service", linuxUser},
		{"systemd-system.service", linuxSystem},
		{"launchd-agent.plist", darwinAgent},
	} {
		t.Run(c.file, func(t *testing.T) {
			if err := c.o.Check(); err != nil {
				t.Fatal(err)
			}
			def, err := c.o.Definition()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, c.file, []byte(def))
		})
	}
	t.Run("windows-args.json", func(t *testing.T) {
		if err := windowsService.Check(); err != nil {
			t.Fatal(err)
		}
		if def, _ := windowsService.Definition(); def != "" {
			t.Errorf("Windows got a definition file: %q", def)
		}
		b, _ := json.MarshalIndent(append([]string{windowsService.Executable}, windowsService.Arguments()...), "", "  ")
		golden(t, "windows-args.json", append(b, '\n'))
	})
}

// TestSystemdUnitWrittenAsGenerated installs through the service library
// into a scratch home folder and checks that the unit file it writes is
// the generated definition, byte for byte. It runs only where no systemd
// is running, since enabling the unit is the step expected to fail here.
func TestSystemdUnitWrittenAsGenerated(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("systemd units are Linux only")
	}
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Skip("systemd is running here; TestSystemdRoundTrip covers the real install")
	}
	var systemd service.System
	for _, s := range service.AvailableSystems() {
		if s.String() == "linux-systemd" {
			systemd = s
		}
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	svc, err := systemd.New(&Program{}, serviceConfig(linuxUser))
	if err != nil {
		t.Fatal(err)
	}
	svc.Install() // writes the unit, then fails to enable it without systemd
	got, err := os.ReadFile(filepath.Join(home, ".config/systemd/user/ferry.service"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := linuxUser.Definition()
	if string(got) != want {
		t.Errorf("the service library changed the unit:\n%s\nwant\n%s", got, want)
	}
}

func TestInstallBadInput(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	os.WriteFile(file, nil, 0o600)
	base := Options{GOOS: runtime.GOOS, Scope: User, Executable: "/usr/local/bin/ferry",
		DataDir: filepath.Join(dir, "data"), Downloads: filepath.Join(dir, "dl"), Port: 7466}
	if runtime.GOOS == "windows" {
		base.Scope = System
		base.Executable = `C:\ferry.exe`
	}
	for _, c := range []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"unwritable downloads folder", func(o *Options) { o.Downloads = filepath.Join(file, "Downloads") }, "the downloads folder"},
		{"control character in name", func(o *Options) { o.Name = "bad\x1bname" }, "contains a control character"},
		{"newline in a path", func(o *Options) { o.Downloads = "/home/a\nExecStartPre=/bin/evil" }, "contains a control character"},
		{"template delimiters", func(o *Options) { o.Downloads = "/home/{{Path}}" }, "contains {{ or }}"},
		{"relative path", func(o *Options) { o.DataDir = "data" }, "is not absolute"},
		{"port out of range", func(o *Options) { o.Port = 70000 }, "--port must be between 1 and 65535"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := base
			c.edit(&o)
			_, err := Install(o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Install: %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestSystemdQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/bin/ferry":    "/usr/bin/ferry",
		"My Files":          `"My Files"`,
		`a"b`:               `"a\"b"`,
		`C:\x`:              `"C:\\x"`,
		"100%":              "100%%",
		"$HOME":             "$$HOME",
		"":                  `""`,
		"semi;colon":        `"semi;colon"`,
		"Alex's laptop":     `"Alex's laptop"`,
		"/srv/ferry-(2024)": "/srv/ferry-(2024)",
	} {
		if got := systemdQuote(in); got != want {
			t.Errorf("systemdQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestSystemdRoundTrip installs, starts, checks, stops and uninstalls a real
// user unit where a systemd user manager is running.
func TestSystemdRoundTrip(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("systemd is Linux only")
	}
	if err := Usable(User); err != nil {
		t.Skipf("skipped: no usable systemd user manager on this machine: %v", err)
	}
	if err := exec.Command("systemctl", "--user", "is-system-running").Run(); err != nil {
		if out, _ := exec.Command("systemctl", "--user", "is-system-running").Output(); len(out) == 0 {
			t.Skipf("skipped: systemctl --user does not answer: %v", err)
		}
	}
	if _, err := Find(nil); err == nil {
		t.Skip("skipped: ferry is already installed on this machine; not touching it")
	}
	bin := filepath.Join(t.TempDir(), "ferry")
	if out, err := exec.Command("go", "build", "-o", bin, "..").CombinedOutput(); err != nil {
		t.Fatalf("building ferry: %v\n%s", err, out)
	}
	dir := t.TempDir()
	o := Options{GOOS: "linux", Scope: User, Executable: bin, DataDir: filepath.Join(dir, "data"),
		Downloads: filepath.Join(dir, "dl"), Name: "round trip", Port: freePort(t)}
	if _, err := Install(o); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Control(User, "uninstall") })
	if st, err := State(User); err != nil || st != "running" {
		t.Fatalf("after install: %q, %v", st, err)
	}
	if err := Control(User, "stop"); err != nil {
		t.Fatal(err)
	}
	if st, _ := State(User); st != "stopped" {
		t.Fatalf("after stop: %q", st)
	}
	if err := Control(User, "uninstall"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(DefinitionPath("linux", User)); !os.IsNotExist(err) {
		t.Fatalf("the unit is still there after uninstall: %v", err)
	}
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
