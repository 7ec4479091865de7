package daemon

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// allowedImports is every import from one ferry package of another, by
// path below the module. Imports point one way: the CLI and this composition
// root at the top; api, datadir, identity, proto, store, discovery, installer
// and ui at the bottom, importing nothing of ferry. A new edge is a design
// decision: add it here, and to the layout in the design notes.
var allowedImports = map[string][]string{
	".":               {"daemon", "daemon/api", "daemon/datadir", "discovery", "installer"},
	"daemon":          {"daemon/api", "daemon/datadir", "daemon/identity", "daemon/mesh", "daemon/messages", "daemon/nearby", "daemon/outbox", "daemon/pair", "daemon/signal", "daemon/store", "daemon/transfer", "daemon/web", "discovery", "ui"},
	"daemon/pair":     {"daemon/api", "daemon/identity", "daemon/proto", "daemon/signal"},
	"daemon/api":      {},
	"daemon/datadir":  {},
	"daemon/identity": {},
	"daemon/mesh":     {"daemon/identity", "daemon/proto", "daemon/signal"},
	"daemon/messages": {"daemon/api", "daemon/proto", "daemon/signal"},
	"daemon/outbox":   {"daemon/api", "daemon/store"},
	"daemon/nearby":   {"daemon/api", "daemon/datadir", "daemon/identity", "daemon/signal", "discovery"},
	"daemon/proto":    {},
	"daemon/signal":   {"daemon/identity", "daemon/proto"},
	"daemon/store":    {},
	"daemon/transfer": {"daemon/identity", "daemon/proto", "daemon/signal", "daemon/store"},
	"daemon/web":      {"daemon/api"},
	"discovery":       {},
	"installer":       {},
	"ui":              {},
}

const module = "github.com/ferry-dev/ferry"

// TestImportsPointOneWay lists every package's imports with go list and
// fails on an edge the table does not name, and on a package it does not
// know.
func TestImportsPointOneWay(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}|{{join .Imports ","}}`, module+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, "|")
		name := rel(pkg)
		allowed, known := allowedImports[name]
		if !known {
			t.Errorf("package %s is not in the table of allowed imports", name)
			continue
		}
		seen++
		for _, imp := range strings.Split(imports, ",") {
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			if !slices.Contains(allowed, rel(imp)) {
				t.Errorf("%s imports %s, which the table does not allow", name, rel(imp))
			}
		}
	}
	if seen != len(allowedImports) {
		t.Errorf("go list named %d of the %d packages in the table", seen, len(allowedImports))
	}
}

// TestClientNeedsNoEngine: what a client of the API compiles in (package
// api and everything it depends on) holds nothing else of ferry.
func TestClientNeedsNoEngine(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", module+"/daemon/api").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, module) && dep != module+"/daemon/api" {
			t.Errorf("package api depends on %s", dep)
		}
	}
}

func rel(pkg string) string {
	if pkg == module {
		return "."
	}
	return strings.TrimPrefix(pkg, module+"/")
}
