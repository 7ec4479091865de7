package installer

import (
	"encoding/xml"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"unicode"
)

// Name is the service's name with every service manager: the systemd unit
// ferry.service, the launchd label ferry, the Windows service ferry.
const Name = "ferry"

const description = "ferry: send files to nearby devices, directly"

// Scope says whether the service belongs to the user or to the system.
type Scope int

const (
	// User runs the daemon in the user's session: a systemd user unit or a
	// launchd agent.
	User Scope = iota
	// System runs it from boot: a systemd system unit, a launchd daemon or
	// a Windows service.
	System
)

func (s Scope) String() string {
	if s == System {
		return "system"
	}
	return "user"
}

// Options is what a service definition is made of. Every path is absolute
// and resolved when ferry install runs; the service never looks at $HOME.
type Options struct {
	GOOS       string // the target OS, as runtime.GOOS
	Scope      Scope
	Executable string // the ferry binary
	DataDir    string
	Downloads  string
	Name       string // device name; "" leaves it to the config file or the host name
	Port       int    // 0 leaves it to the config file or the default port
	UserName   string // the account a system service runs as (Linux, macOS)
	LogFile    string // where the daemon logs when the OS does not keep logs (macOS, Windows)
}

// Check validates the options so that nothing unexpected reaches a unit
// file or a command line.
func (o Options) Check() error {
	if o.Name != "" {
		// The CLI applies the full rule for names; this keeps a line
		// break or other control character out of a unit file.
		if strings.IndexFunc(o.Name, unicode.IsControl) >= 0 {
			return fmt.Errorf("the device name %q contains a control character", o.Name)
		}
	}
	if o.Port < 0 || o.Port > 65535 {
		return fmt.Errorf("--port must be between 1 and 65535, not %d", o.Port)
	}
	for _, p := range []struct{ what, path string }{
		{"ferry binary", o.Executable}, {"data folder", o.DataDir},
		{"downloads folder", o.Downloads}, {"log file", o.LogFile},
	} {
		if p.path == "" && p.what == "log file" {
			continue
		}
		if !isAbs(o.GOOS, p.path) {
			return fmt.Errorf("the %s path %q is not absolute", p.what, p.path)
		}
		if err := plainText(p.path); err != nil {
			return fmt.Errorf("the %s path %q %w", p.what, p.path, err)
		}
	}
	if err := plainText(o.UserName); err != nil {
		return fmt.Errorf("the user name %q %w", o.UserName, err)
	}
	if o.GOOS == "windows" && o.Scope == User {
		return errors.New("Windows has no per-user services; install with --system")
	}
	return nil
}

// plainText rejects what would break a unit file or the template engine of
// the service library: control characters and template delimiters.
func plainText(s string) error {
	for _, r := range s {
		if unicode.IsControl(r) {
			return errors.New("contains a control character")
		}
	}
	if strings.Contains(s, "{{") || strings.Contains(s, "}}") {
		return errors.New("contains {{ or }}")
	}
	return nil
}

func isAbs(goos, p string) bool {
	if goos == "windows" {
		return len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') || strings.HasPrefix(p, `\\`)
	}
	return filepath.IsAbs(p) || strings.HasPrefix(p, "/")
}

// Arguments is the command line the service runs after the executable.
func (o Options) Arguments() []string {
	args := []string{"run", "--service", "--data-dir", o.DataDir, "--downloads", o.Downloads}
	if o.Name != "" {
		args = append(args, "--name", o.Name)
	}
	if o.Port != 0 {
		args = append(args, "--port", strconv.Itoa(o.Port))
	}
	if o.LogFile != "" {
		args = append(args, "--log-file", o.LogFile)
	}
	return args
}

// Definition returns the file the service manager reads, complete: a
// systemd unit on Linux, a launchd property list on macOS. Windows keeps its
// services in the registry, so there it returns "".
func (o Options) Definition() (string, error) {
	var t *template.Template
	switch o.GOOS {
	case "linux":
		t = systemdUnit
	case "darwin":
		t = launchdPlist
	default:
		return "", nil
	}
	var b strings.Builder
	err := t.Execute(&b, struct {
		Options
		Description string
		Command     string
		Arguments   []string
		Label       string
		System      bool
	}{o, description, o.execStart(), o.Arguments(), Name, o.Scope == System})
	return b.String(), err
}

func (o Options) execStart() string {
	parts := []string{systemdQuote(o.Executable)}
	for _, a := range o.Arguments() {
		parts = append(parts, systemdQuote(a))
	}
	return strings.Join(parts, " ")
}

// systemdQuote quotes one word of an ExecStart line: systemd splits on
// spaces, unquotes "..." with C escapes and expands % specifiers and $
// variables, even inside quotes.
func systemdQuote(s string) string {
	s = strings.NewReplacer("%", "%%", "$", "$$").Replace(s)
	if s != "" && !strings.ContainsAny(s, " \t\"'\\;") {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// A user unit cannot order itself after system targets such as
// network-online.target, and its install target is default.target: the
// multi-user.target of system units does not exist in a user manager.
var systemdUnit = template.Must(template.New("unit").Parse(`[Unit]
Description={{.Description}}
Documentation=https://github.com/ferry-dev/ferry#readme
{{- if .System}}
Wants=network-online.target
After=network-online.target
{{- end}}
StartLimitIntervalSec=300
StartLimitBurst=10

[Service]
Type=simple
ExecStart={{.Command}}
{{- if .UserName}}
User={{.UserName}}
{{- end}}
Restart=on-failure
RestartSec=5
TimeoutStopSec=30

[Install]
WantedBy={{if .System}}multi-user.target{{else}}default.target{{end}}
`))

// KeepAlive with SuccessfulExit false is launchd's restart on failure.
var launchdPlist = template.Must(template.New("plist").Funcs(template.FuncMap{"x": xmlEscape}).Parse(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>{{.Label}}</string>
	<key>ProgramArguments</key>
	<array>
		<string>{{x .Executable}}</string>
{{- range .Arguments}}
		<string>{{x .}}</string>
{{- end}}
	</array>
{{- if .UserName}}
	<key>UserName</key>
	<string>{{x .UserName}}</string>
{{- end}}
	<key>RunAtLoad</key>
	<true/>
	<key>KeepAlive</key>
	<dict>
		<key>SuccessfulExit</key>
		<false/>
	</dict>
	<key>ProcessType</key>
	<string>Background</string>
	<key>StandardOutPath</key>
	<string>{{x .LogFile}}</string>
	<key>StandardErrorPath</key>
	<string>{{x .LogFile}}</string>
</dict>
</plist>
`))
