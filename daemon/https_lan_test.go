package daemon

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ferry-dev/ferry/daemon/transfer"
)

// ignoringCertificateErrors starts Chromium with
// --ignore-certificate-errors: it takes the daemon's self-signed
// certificate as if an authority had signed it, with no warning.
func ignoringCertificateErrors() browserOption {
	return func(s *browserSetup) {
		s.flags = append(s.flags, chromedp.Flag("ignore-certificate-errors", true))
	}
}

// secureFacts are what a page can use in a secure context.
type secureFacts struct {
	Protocol string `json:"protocol"`
	Secure   bool   `json:"secure"`
	Subtle   bool   `json:"subtle"`
	OPFS     bool   `json:"opfs"`
	// Worker is what registering the page's service worker came to:
	// "registered" or the browser's reason.
	Worker string `json:"worker"`
}

const secureFactsJS = `(async () => ({
	protocol: location.protocol,
	secure: window.isSecureContext,
	subtle: typeof crypto.subtle?.digest === 'function',
	opfs: await navigator.storage.getDirectory().then(() => true, () => false),
	worker: await navigator.serviceWorker.register('/sw.js', {type: 'module'}).then(() => 'registered', (e) => e.message),
}))()`

// TestHTTPSGuestFromTheLAN: a browser on the LAN opens the HTTPS address
// of a daemon in the HTTPS mode. As a person does, it goes on past the
// certificate warning; the page is then a secure context, names the
// device, talks to the hub over wss and receives a file into the browser's
// own storage, saved from there through a blob URL, since Chromium refuses
// such a page a service worker. A browser that takes the certificate
// without a warning also gets the service worker, which serves the save. The owner's API
// stays closed to both, and to any request over TLS from another address.
func TestHTTPSGuestFromTheLAN(t *testing.T) {
	l := newGuestLAN(t)
	d, _ := startLANDaemon(t, l, "laptop", func(c *Config) { c.HTTPS = true })
	secure := d.HTTPSAddr().String()
	if !strings.HasPrefix(secure, l.hostAddr+":") {
		t.Fatalf("HTTPS listens on %s, not beside HTTP on %s", secure, l.hostAddr)
	}
	short := d.ID().Short()

	// From this process to the LAN address the request comes from that
	// address, not loopback: a guest, even when it names this computer.
	tr := &http.Transport{TLSClientConfig: pinnedTLS(d.ID())}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	for _, host := range []string{secure, "127.0.0.1:" + strings.Split(secure, ":")[1], "localhost"} {
		if code, body := fetch(t, client, "https://"+secure+"/api/status", host, ""); code != 403 || !strings.Contains(body, "answers only on this computer") {
			t.Fatalf("the API over TLS from %s for host %s: %d %s", l.hostAddr, host, code, body)
		}
		if code, body := fetch(t, client, "https://"+secure+"/", host, ""); code != 200 || !strings.Contains(body, "/js/guest/app.js") {
			t.Fatalf("/ over TLS from %s for host %s is not the guest page: %d\n%s", l.hostAddr, host, code, body)
		}
	}

	// A person's browser: it warns, and the person goes on.
	u := "https://" + secure + "/"
	b := newBrowser(t, inNamespace(l.ns))
	if err := b.do(chromedp.Navigate(u)); err == nil || !strings.Contains(err.Error(), "ERR_CERT_AUTHORITY_INVALID") {
		t.Fatalf("opening %s with a self-signed certificate: %v, want the browser's warning", u, err)
	}
	b.click(t, "#details-button")
	b.click(t, "#proceed-link")
	// Connected: the page's hub URL is wss:// on an https:// page (a
	// ws:// one would be blocked as mixed content).
	b.waitText(t, "#link-state", "Connected to laptop")
	b.waitText(t, "#device-id", "Device ID "+short+" — check it matches the owner's screen")
	b.waitText(t, "#people", "laptop")
	var facts secureFacts
	b.eval(t, secureFactsJS, &facts)
	// Chromium keeps the page a secure context past the warning, but
	// refuses it a service worker: it fetches a worker's script only with
	// a certificate it trusts (docs/https.md).
	if facts.Protocol != "https:" || !facts.Secure || !facts.Subtle || !facts.OPFS || !strings.Contains(facts.Worker, "fetching the script") {
		t.Fatalf("past the warning the page has %+v; want a secure context with WebCrypto and OPFS, without a service worker", facts)
	}
	b.waitText(t, "#limits", "written to this browser's storage")
	receiveOnPage(t, d, b, "over https.bin")
	var saveLink string
	b.eval(t, `document.querySelector("#transfers a.save").getAttribute("href")`, &saveLink)
	if !strings.HasPrefix(saveLink, "blob:https://") {
		t.Fatalf("past the warning the Save link is %q, not a blob URL of the stored file", saveLink)
	}
	b.screenshot(t, "guest-https", 390, 844)
	b.screenshot(t, "guest-https", 1280, 800)
	for _, p := range b.problems() {
		if !strings.Contains(p, "ServiceWorker") && !strings.Contains(p, "fetching the script") {
			t.Errorf("the page past the warning reported %q", p)
		}
	}

	// A browser that takes the certificate as trusted: the service worker
	// too, and received files in the browser's own storage.
	trusted := newBrowser(t, inNamespace(l.ns), ignoringCertificateErrors())
	trusted.open(t, u)
	trusted.waitText(t, "#link-state", "Connected to laptop")
	trusted.waitText(t, "#device-id", short)
	trusted.waitText(t, "#limits", "written to this browser's storage")
	receiveOnPage(t, d, trusted, "into storage.bin")
	var href string
	trusted.eval(t, `document.querySelector("#transfers a.save").getAttribute("href")`, &href)
	if !strings.HasPrefix(href, "/download/") {
		t.Fatalf("the Save link is %q, not one the service worker serves", href)
	}
	trusted.assertClean(t)

	// Every owner endpoint, asked from the HTTPS page, is refused.
	assertOwnerRefused(t, trusted)
}

// receiveOnPage has the daemon send a small file to the page, whose person
// accepts it, and checks the file the page saves against the one sent.
func receiveOnPage(t *testing.T, d *Daemon, b *browser, name string) {
	t.Helper()
	src, sum := randomFile(t, name, 1<<20+3)
	out, err := transfers{d}.Send(guestID(t, b), []string{src})
	if err != nil {
		t.Fatal(err)
	}
	b.click(t, `#incoming [data-transfer] button.accept`)
	b.waitText(t, "#transfers", "Received from laptop, every file verified")
	if info := awaitTransfer(t, d, out); info.State != transfer.StateDone {
		t.Fatalf("the daemon's send of %s: %s %s", name, info.State, info.Error)
	}
	if got := saveReceived(t, b, name); got != sum {
		t.Fatalf("the page saved %s with SHA-256 %x, the daemon sent %x", name, got, sum)
	}
}

// TestDashboardHTTPS: with the HTTPS mode on, the owner's dashboard shows
// a phone's https:// address and its QR code beside the plain one, the
// certificate's fingerprint to compare with the browser's warning, and the
// device ID the guest page shows; the setting turns the mode off for the
// next start.
func TestDashboardHTTPS(t *testing.T) {
	l := newGuestLAN(t) // for an address a phone could reach
	d, _ := runTestDaemonWith(t, "laptop", t.TempDir(), func(c *Config) {
		c.HTTPS = true
		c.Interfaces = []string{"lo", l.hostIf}
	})
	b := newBrowser(t)
	b.open(t, fmt.Sprintf("http://localhost:%d/", d.port()))
	b.waitText(t, "#link-state", "Connected")
	link := fmt.Sprintf("https://%s:%d/", l.hostAddr, d.httpsPort())
	b.waitText(t, "#phone-link", fmt.Sprintf("http://%s:%d/", l.hostAddr, d.port()))
	b.waitText(t, "#phone-https-link", link)
	b.waitText(t, "#phone-fingerprint", fingerprint(d.ID()))
	b.waitText(t, "#phone-device", d.ID().Short())
	b.waitText(t, "#device", d.ID().Short())
	b.waitTrue(t, `(q => q.complete && q.naturalWidth > 0 && !document.querySelector('#phone-https').hidden)(document.querySelector('#phone-https-qr'))`)
	var checked bool
	b.eval(t, `document.querySelector('#set-https').checked`, &checked)
	if !checked {
		t.Fatal("the settings do not show the HTTPS mode on")
	}
	b.screenshot(t, "dashboard-https", 1280, 800)
	b.screenshot(t, "dashboard-https", 390, 844)

	b.click(t, "#set-https")
	b.click(t, "#settings-form button")
	b.waitText(t, "#settings-note", "The new HTTPS setting takes effect when ferry restarts.")
	if conf, err := d.dir.LoadConfig(); err != nil || conf.HTTPS {
		t.Fatalf("config.json after turning HTTPS off: %+v %v", conf, err)
	}
	b.assertClean(t)
}
