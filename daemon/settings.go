package daemon

import (
	"fmt"
	"path/filepath"
	"sync"

	"github.com/ferry-dev/ferry/daemon/api"
	"github.com/ferry-dev/ferry/daemon/datadir"
	"github.com/ferry-dev/ferry/daemon/web"
)

// settings are the owner's settings as the dashboard changes them: saved
// in config.json; the accept policy applies at once, the name, downloads
// folder, ports and HTTPS mode when the daemon next starts.
type settings struct {
	d *Daemon

	mu      sync.Mutex
	accept  string
	saved   api.Settings // what config.json holds now, flags applied
	changed chan struct{}
}

var _ web.Settings = (*settings)(nil)

func newSettings(d *Daemon) *settings {
	port := d.cfg.Port
	if port == 0 {
		port = d.port()
	}
	// The HTTPS port is shown only when it is not the one after the port,
	// so a change of the port moves HTTPS with it.
	httpsPort := d.cfg.HTTPSPort
	if next, _ := httpsPortFor(port, 0); d.httpsPort() != 0 && d.httpsPort() != next {
		httpsPort = d.httpsPort()
	}
	return &settings{d: d, accept: d.cfg.Accept, changed: make(chan struct{}),
		saved: api.Settings{Name: d.cfg.Name, Downloads: d.cfg.Downloads, Accept: d.cfg.Accept, Port: port, HTTPS: d.cfg.HTTPS, HTTPSPort: httpsPort}}
}

// Accept returns the accept policy in force.
func (s *settings) Accept() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accept
}

func (s *settings) Get() api.Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saved
}

func (s *settings) Save(n api.Settings) (api.SettingsSaved, error) {
	if err := datadir.CheckName(n.Name); err != nil {
		return api.SettingsSaved{}, err
	}
	if err := datadir.CheckAccept(n.Accept); err != nil {
		return api.SettingsSaved{}, fmt.Errorf("the accept mode must be none, trusted or all, not %q", n.Accept)
	}
	if n.Port < 1 || n.Port > 65535 {
		return api.SettingsSaved{}, fmt.Errorf("the port must be between 1 and 65535, not %d", n.Port)
	}
	if n.HTTPSPort < 0 || n.HTTPSPort > 65535 {
		return api.SettingsSaved{}, fmt.Errorf("the HTTPS port must be between 1 and 65535, or empty for the port after the port, not %d", n.HTTPSPort)
	}
	httpsPort, err := httpsPortFor(n.Port, n.HTTPSPort)
	if n.HTTPS && err != nil {
		return api.SettingsSaved{}, fmt.Errorf("port %d has no port after it; choose an HTTPS port", n.Port)
	}
	if n.HTTPS && httpsPort == n.Port {
		return api.SettingsSaved{}, fmt.Errorf("the HTTPS port must differ from the port, %d", n.Port)
	}
	if !filepath.IsAbs(n.Downloads) {
		return api.SettingsSaved{}, fmt.Errorf("the downloads folder must be a full path, such as /home/you/Downloads, not %q", n.Downloads)
	}
	n.Downloads = filepath.Clean(n.Downloads)
	err = s.d.dir.UpdateConfig(func(c *datadir.Config) {
		c.Name, c.Downloads, c.Accept = n.Name, n.Downloads, n.Accept
		port := n.Port
		c.Port = &port
		c.HTTPS, c.HTTPSPort = n.HTTPS, n.HTTPSPort
	})
	if err != nil {
		return api.SettingsSaved{}, err
	}
	out := api.SettingsSaved{Settings: n}
	cfg := s.d.cfg
	if n.Name != cfg.Name {
		out.Restart = append(out.Restart, "name")
	}
	if n.Downloads != cfg.Downloads {
		out.Restart = append(out.Restart, "downloads")
	}
	if n.Port != s.d.port() {
		out.Restart = append(out.Restart, "port")
	}
	if n.HTTPS != (s.d.httpsPort() != 0) {
		out.Restart = append(out.Restart, "https")
	} else if n.HTTPS && httpsPort != s.d.httpsPort() {
		out.Restart = append(out.Restart, "httpsPort")
	}
	s.mu.Lock()
	s.accept, s.saved = n.Accept, n
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	s.d.cfg.Log.Info("Settings saved", "name", n.Name, "downloads", n.Downloads, "accept", n.Accept, "port", n.Port,
		"https", n.HTTPS, "httpsPort", n.HTTPSPort, "restart", out.Restart)
	return out, nil
}

func (s *settings) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}
