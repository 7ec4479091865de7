package web

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/ferry-dev/ferry/daemon/api"
)

// ownerOnly lets through only requests from loopback, for a loopback host,
// and from a loopback origin if any, so that neither another device nor a
// web page the owner visits (DNS rebinding, cross-site requests) reaches an
// owner action. POST bodies must be JSON, which a plain cross-site form
// cannot send.
func ownerOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackAddr(r.RemoteAddr) {
			writeJSON(w, http.StatusForbidden, api.Error{Error: "the local API answers only on this computer"})
			return
		}
		if !loopbackHost(r.Host) {
			writeJSON(w, http.StatusForbidden, api.Error{Error: fmt.Sprintf("host %q is not this computer", r.Host)})
			return
		}
		if o := r.Header.Get("Origin"); o != "" && !sameOrigin(o, scheme(r), r.Host) {
			writeJSON(w, http.StatusForbidden, api.Error{Error: fmt.Sprintf("origin %q may not use the local API", o)})
			return
		}
		if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); r.Method == http.MethodPost && (err != nil || ct != "application/json") {
			writeJSON(w, http.StatusUnsupportedMediaType, api.Error{Error: "send a JSON body with Content-Type: application/json"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// sameOrigin reports whether origin is this daemon's own page as the
// request reached it: the request's scheme, a loopback host, and the port
// of host. A page of another local program, on another port, is another
// origin, and so is this daemon's page on its other port.
func sameOrigin(origin, scheme, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme != scheme || u.Path != "" || !loopbackHost(u.Host) {
		return false
	}
	return portOf(u.Host, scheme) == portOf(host, scheme)
}

// scheme is the scheme the request came in on: https on the HTTPS
// listener, http on the other.
func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// portOf returns the port of host[:port], the scheme's default when it
// names none.
func portOf(host, scheme string) string {
	if _, port, err := net.SplitHostPort(host); err == nil && port != "" {
		return port
	}
	if scheme == "https" {
		return "443"
	}
	return "80"
}

func loopbackAddr(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
