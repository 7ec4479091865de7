package daemon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-dev/ferry/daemon/api"
	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/mesh"
	"github.com/ferry-dev/ferry/daemon/signal"
	"rsc.io/qr"
)

// rooms serves the room side of the owner's API and the room pages.
type rooms Daemon

var _ api.Rooms = (*rooms)(nil)

func (r *rooms) d() *Daemon { return (*Daemon)(r) }

// roomsFile remembers the code rooms this daemon is in, so that a restart
// within a room's hour keeps it in them.
const roomsFile = "rooms.json"

type savedRooms struct {
	Joined []string  `json:"joined"`
	Saved  time.Time `json:"saved"`
}

// loadRooms returns the rooms to rejoin: those saved less than roomTTL ago.
// A damaged file is reported and ignored; rooms are not worth failing a
// start for.
func loadRooms(dir string, roomTTL time.Duration) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, roomsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	var s savedRooms
	if err == nil {
		err = json.Unmarshal(b, &s)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", roomsFile, err)
	}
	if time.Since(s.Saved) >= roomTTL {
		return nil, nil
	}
	return s.Joined, nil
}

func (r *rooms) save() error {
	return writeJSONFile(filepath.Join(r.cfg.DataDir, roomsFile), savedRooms{Joined: r.mesh.Joined(), Saved: time.Now()})
}

// parseRoom reads a room code as the owner typed it.
func parseRoom(s string) (string, error) {
	code, ok := signal.NormalizeRoomCode(s)
	if !ok {
		return "", fmt.Errorf("%q is not a room code: codes are %d characters from %s", s, signal.RoomCodeLen, signal.RoomAlphabet)
	}
	return code, nil
}

// joinLinks returns the room's join link at each address of this device,
// IPv4 first.
func (r *rooms) joinLinks(code string) []string {
	port := strconv.Itoa(r.ln.Addr().(*net.TCPAddr).Port)
	addrs := lanAddresses(r.cfg.Interfaces)
	slices.SortStableFunc(addrs, func(a, b string) int {
		return boolInt(strings.Contains(a, ":")) - boolInt(strings.Contains(b, ":"))
	})
	links := []string{}
	for _, a := range addrs {
		links = append(links, "http://"+net.JoinHostPort(a, port)+"/r/"+code)
	}
	return links
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (r *rooms) withLinks(room mesh.Room) api.Room {
	out := api.Room{Room: room, Links: r.joinLinks(room.Code)}
	if len(out.Links) > 0 {
		out.Link = out.Links[0]
	}
	return out
}

func (r *rooms) View() api.RoomsView {
	v := api.RoomsView{Nearby: r.mesh.Members(), Rooms: []api.Room{}}
	for _, room := range r.mesh.Rooms() {
		v.Rooms = append(v.Rooms, r.withLinks(room))
	}
	return v
}

func (r *rooms) Create() (api.Room, error) {
	code, err := r.mesh.Create()
	if err != nil {
		return api.Room{}, err
	}
	if err := r.save(); err != nil {
		return api.Room{}, err
	}
	room, err := r.mesh.Room(code)
	return r.withLinks(room), err
}

func (r *rooms) Join(s string) (api.Room, error) {
	code, err := parseRoom(s)
	if err != nil {
		return api.Room{}, err
	}
	if err := r.mesh.Join(code); err != nil {
		return api.Room{}, roomError(code, err)
	}
	if err := r.save(); err != nil {
		return api.Room{}, err
	}
	room, err := r.mesh.Room(code)
	return r.withLinks(room), err
}

func (r *rooms) Leave(s string) error {
	code, err := parseRoom(s)
	if err != nil {
		return err
	}
	if err := r.mesh.Leave(code); err != nil {
		return err
	}
	return r.save()
}

func roomError(code string, err error) error {
	if errors.Is(err, mesh.ErrNoRoom) {
		return fmt.Errorf("no room %s on this network: check the code; a room ends an hour after its last member leaves", code)
	}
	return err
}

// Send starts a transfer to every other daemon in the room. They run in
// parallel; a member this daemon cannot reach is reported, not fatal.
func (r *rooms) Send(s string, paths []string) (api.RoomSend, error) {
	code, err := parseRoom(s)
	if err != nil {
		return api.RoomSend{}, err
	}
	room, err := r.mesh.Room(code)
	if err != nil {
		return api.RoomSend{}, roomError(code, err)
	}
	out := api.RoomSend{Transfers: []api.RoomTransfer{}, Skipped: []api.RoomTransfer{}}
	for _, p := range room.Members {
		if p.Kind != signal.MemberDaemon || p.ID == r.id.ID.String() {
			continue
		}
		t := api.RoomTransfer{Peer: p.ID, Name: p.Name}
		t.ID, err = r.sendTo(p.ID, paths)
		if err != nil {
			t.Error = err.Error()
			out.Skipped = append(out.Skipped, t)
			continue
		}
		out.Transfers = append(out.Transfers, t)
	}
	if len(out.Transfers)+len(out.Skipped) == 0 {
		return out, fmt.Errorf("no other device is in room %s yet; on the other device run: ferry room join %s", code, code)
	}
	return out, nil
}

func (r *rooms) sendTo(peer string, paths []string) (string, error) {
	id, err := identity.ParseID(peer)
	if err != nil {
		return "", err
	}
	p, ok := r.nearby.table.Get(id)
	if !ok {
		return "", errors.New("it is in the room but not nearby: this device cannot reach it directly")
	}
	ap, ok := p.Addr()
	if !ok {
		return "", errors.New("it is flagged: it answered with another device's certificate")
	}
	return r.manager.SendTo(ap.String(), id, paths)
}

// roomPages serves /r/CODE, the page a join link or QR code opens, and
// /r/CODE/qr.svg. Anyone on the network may load them; they show what the
// code already gives: the room and who is in it.
func roomPages(r *rooms) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /r/{code}", func(w http.ResponseWriter, req *http.Request) {
		code, ok := signal.NormalizeRoomCode(req.PathValue("code"))
		room, err := r.mesh.Room(code)
		pageHeaders(w)
		if !ok || err != nil {
			w.WriteHeader(http.StatusNotFound)
			roomPage.Execute(w, roomPageData{Code: req.PathValue("code"), Name: r.cfg.Name})
			return
		}
		roomPage.Execute(w, roomPageData{Code: code, Name: r.cfg.Name, Found: true, Room: room, Link: r.pageLink(req, code)})
	})
	mux.HandleFunc("GET /r/{code}/qr.svg", func(w http.ResponseWriter, req *http.Request) {
		code, ok := signal.NormalizeRoomCode(req.PathValue("code"))
		if _, err := r.mesh.Room(code); !ok || err != nil {
			http.Error(w, "no such room", http.StatusNotFound)
			return
		}
		svg, err := QRSVG(r.pageLink(req, code))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		pageHeaders(w)
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Write(svg)
	})
	return mux
}

// pageLink is the join link at the address the request came in on, or at
// the first network address when that is loopback, so a phone can scan the
// code from the owner's screen.
func (r *rooms) pageLink(req *http.Request, code string) string {
	if a, ok := req.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr); ok && !a.IP.IsLoopback() {
		return "http://" + a.String() + "/r/" + code
	}
	if links := r.joinLinks(code); len(links) > 0 {
		return links[0]
	}
	return "http://" + req.Host + "/r/" + code
}

func pageHeaders(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'")
}

type roomPageData struct {
	Code  string
	Name  string
	Found bool
	Room  mesh.Room
	Link  string
}

var roomPage = template.Must(template.New("room").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if .Found}}Room {{.Code}}{{else}}No such room{{end}} · ferry</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}.code{font:bold 2rem ui-monospace,monospace;letter-spacing:.2em}
img{width:14rem;height:14rem;image-rendering:pixelated}li{margin:.2rem 0}small{color:#666}
</style></head><body>
{{if .Found}}
<h1>Room <span class="code">{{.Code}}</span></h1>
<p>On {{.Name}}. Scan the code or open <a href="{{.Link}}">{{.Link}}</a> on another device on this network.</p>
<img src="/r/{{.Code}}/qr.svg" alt="QR code of the join link">
<h2>In the room</h2>
{{if .Room.Members}}<ul>{{range .Room.Members}}<li>{{.Name}} <small>{{if eq .Kind "guest"}}browser{{else}}computer{{end}}</small></li>{{end}}</ul>
{{else}}<p>Nobody yet.</p>{{end}}
<p><small>A computer running ferry joins with <code>ferry room join {{.Code}}</code>.</small></p>
{{else}}
<h1>No room {{.Code}} here</h1>
<p>{{.Name}} knows no room with that code. Check the code: rooms end an hour after their last member leaves.</p>
{{end}}
</body></html>
`))

// QRSVG returns a QR code of text as an SVG image, with the quiet zone the
// standard asks for.
func QRSVG(text string) ([]byte, error) {
	c, err := qr.Encode(text, qr.M)
	if err != nil {
		return nil, fmt.Errorf("making a QR code: %w", err)
	}
	const quiet = 4
	n := c.Size + 2*quiet
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges">`, n, n)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y := range c.Size {
		for x := range c.Size {
			if c.Black(x, y) {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x+quiet, y+quiet)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return b.Bytes(), nil
}
