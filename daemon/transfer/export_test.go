package transfer

import "github.com/ferry-dev/ferry/daemon/signal"

func hubSetHandler(h *signal.Hub, m *Manager) { h.SetHandler(m, nil) }
