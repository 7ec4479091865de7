package web

import (
	"net"
	"net/http"
	"strconv"
)

// home serves / : the owner's dashboard on this computer, and to anyone
// else the guest page.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	if !isOwner(r) {
		s.render(w, http.StatusOK, "guest.html", s.guestPage(""))
		return
	}
	s.render(w, http.StatusOK, "index.html", nil)
}

// isOwner reports whether a request comes from this computer, for this
// computer: what the owner's guard lets through, before its method checks.
func isOwner(r *http.Request) bool {
	return loopbackAddr(r.RemoteAddr) && loopbackHost(r.Host)
}

// phoneQR is a QR code of the address a phone on the same network opens:
// this device's first LAN address, which the dashboard shows beside it;
// with ?https, the address of the HTTPS mode.
func (s *Server) phoneQR(w http.ResponseWriter, r *http.Request) {
	st := s.cfg.Status()
	link := st.Phone
	if r.URL.Query().Has("https") {
		link = st.PhoneHTTPS
	}
	if link == "" {
		http.Error(w, "this device has no network address another device can reach", http.StatusNotFound)
		return
	}
	svg, err := QRSVG(link)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Write(svg)
}

// PhoneLink is the address a phone on the network opens to reach this
// daemon over scheme (http, or https on the HTTPS port): the first of its
// LAN addresses (discovery lists IPv4 first) that another device can
// reach, so never a loopback one, which the owner may have named among the
// interfaces.
func PhoneLink(scheme string, addrs []string, port int) string {
	for _, a := range addrs {
		if ip := net.ParseIP(a); ip != nil && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() {
			return scheme + "://" + net.JoinHostPort(a, strconv.Itoa(port)) + "/"
		}
	}
	return ""
}
