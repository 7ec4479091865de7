package daemon

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"github.com/ferry-dev/ferry/daemon/api"
	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/mesh"
	"github.com/ferry-dev/ferry/daemon/signal"
	"github.com/ferry-dev/ferry/daemon/transfer"
	"github.com/ferry-dev/ferry/daemon/web"
	"github.com/ferry-dev/ferry/discovery"
)

// transfers gives the web server the transfer manager in the API's types.
type transfers struct{ d *Daemon }

var _ web.Transfers = transfers{}

func (t transfers) List() []api.Transfer {
	infos := t.d.manager.List()
	out := make([]api.Transfer, len(infos))
	for i, info := range infos {
		out[i] = apiTransfer(info)
	}
	return out
}

func (t transfers) Get(id string) (api.Transfer, error) {
	info, err := t.d.manager.Get(id)
	return apiTransfer(info), found(err)
}

// Send resolves what the owner typed (a name, an ID prefix, HOST:PORT, or
// a browser guest's ID) and starts sending there: to a computer directly,
// to a browser through the mesh, since only its daemon's hub reaches it.
func (t transfers) Send(to string, paths []string) (string, error) {
	if _, kind, ok := t.d.member(to); ok && kind == signal.MemberGuest {
		return t.d.manager.Send(transfer.ThroughMesh(t.d.mesh, to), paths)
	}
	addr, want, err := t.d.nearby.Resolve(to)
	if err != nil {
		return "", err
	}
	return t.d.manager.Send(transfer.Direct(addr, want), paths)
}

func (t transfers) Entries(id string) ([]api.Entry, error) {
	entries, err := t.d.manager.Entries(id)
	if err != nil {
		return nil, found(err)
	}
	out := make([]api.Entry, len(entries))
	for i, e := range entries {
		out[i] = api.Entry{Path: e.Path, Size: e.Size, Dir: e.Dir}
	}
	return out, nil
}

func (t transfers) Accept(id string) error   { return found(t.d.manager.Accept(id)) }
func (t transfers) Decline(id string) error  { return found(t.d.manager.Decline(id)) }
func (t transfers) Cancel(id string) error   { return found(t.d.manager.Cancel(id)) }
func (t transfers) Changed() <-chan struct{} { return t.d.manager.Changed() }

func (t transfers) Clean() api.Cleaned {
	out := api.Cleaned{Transfers: []api.CleanedTransfer{}}
	for _, d := range t.d.manager.Clean() {
		out.Transfers = append(out.Transfers, api.CleanedTransfer{
			ID: d.Info.ID, PeerName: d.Info.PeerName, Items: d.Info.Items, Parts: append([]string{}, d.Parts...), Bytes: d.Bytes,
		})
		out.Bytes += d.Bytes
	}
	return out
}

// found marks the transfer engine's "no such transfer" for the API.
func found(err error) error {
	if errors.Is(err, transfer.ErrNotFound) {
		return web.NotFound(err)
	}
	return err
}

func apiTransfer(i transfer.Info) api.Transfer {
	return api.Transfer{
		ID: i.ID, Direction: i.Direction, Peer: i.Peer, PeerName: i.PeerName, PeerKind: i.PeerKind, Addr: i.Addr,
		State: api.State(i.State), Files: i.Files, Bytes: i.Bytes, Done: i.Done, Sent: i.Sent, Verified: i.Verified,
		Items: i.Items, Code: i.Code, Error: i.Error, Resumed: i.Resumed,
		File: i.File, FileDone: i.FileDone, FileBytes: i.FileBytes, Started: i.Started, Updated: i.Updated,
		Tops: i.Tops, Saved: apiPlaced(i.Saved), Held: i.Held,
	}
}

func apiPlaced(ps []transfer.Placed) []api.Placed {
	if ps == nil {
		return nil
	}
	out := make([]api.Placed, len(ps))
	for i, p := range ps {
		out[i] = api.Placed{Name: p.Name, As: p.As, Dir: p.Dir}
	}
	return out
}

// rooms gives the web server the mesh's rooms with this device's join
// links, keeps rooms.json current, and sends to everyone in a room.
type rooms struct{ d *Daemon }

var _ web.Rooms = rooms{}

func (r rooms) View() api.RoomsView {
	v := api.RoomsView{Nearby: apiMembers(r.d.mesh.Members()), Rooms: []api.Room{}}
	for _, room := range r.d.mesh.Rooms() {
		v.Rooms = append(v.Rooms, r.withLinks(room))
	}
	return v
}

func (rooms) Normal(s string) (string, bool) { return signal.NormalizeRoomCode(s) }

func (r rooms) Room(s string) (api.Room, error) {
	code, err := parseRoom(s)
	if err != nil {
		return api.Room{}, web.NotFound(err)
	}
	room, err := r.d.mesh.Room(code)
	if err != nil {
		return api.Room{}, web.NotFound(roomError(code, err))
	}
	return r.withLinks(room), nil
}

func (r rooms) Create() (api.Room, error) {
	code, err := r.d.mesh.Create()
	if err != nil {
		return api.Room{}, err
	}
	return r.saved(code)
}

func (r rooms) Join(s string) (api.Room, error) {
	code, err := parseRoom(s)
	if err != nil {
		return api.Room{}, err
	}
	if err := r.d.mesh.Join(code); err != nil {
		return api.Room{}, roomError(code, err)
	}
	return r.saved(code)
}

func (r rooms) Leave(s string) error {
	code, err := parseRoom(s)
	if err != nil {
		return err
	}
	if err := r.d.mesh.Leave(code); err != nil {
		return err
	}
	return r.d.dir.SaveRooms(r.d.mesh.Joined())
}

func (r rooms) Changed() <-chan struct{} { return r.d.mesh.Changed() }

// saved records the rooms this device is in and returns room code.
func (r rooms) saved(code string) (api.Room, error) {
	if err := r.d.dir.SaveRooms(r.d.mesh.Joined()); err != nil {
		return api.Room{}, err
	}
	room, err := r.d.mesh.Room(code)
	return r.withLinks(room), err
}

// Send starts a transfer to every other daemon in the room. They run in
// parallel; a member this daemon cannot reach is reported, not fatal.
func (r rooms) Send(s string, paths []string) (api.RoomSend, error) {
	code, err := parseRoom(s)
	if err != nil {
		return api.RoomSend{}, err
	}
	room, err := r.d.mesh.Room(code)
	if err != nil {
		return api.RoomSend{}, roomError(code, err)
	}
	out := api.RoomSend{Transfers: []api.RoomTransfer{}, Skipped: []api.RoomTransfer{}}
	for _, p := range room.Members {
		if p.Kind != signal.MemberDaemon || p.ID == r.d.id.ID.String() {
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

func (r rooms) sendTo(peer string, paths []string) (string, error) {
	id, err := identity.ParseID(peer)
	if err != nil {
		return "", err
	}
	addr, err := r.d.nearby.Addr(id)
	if err != nil {
		return "", err
	}
	return r.d.manager.Send(transfer.Direct(addr, id), paths)
}

func (r rooms) withLinks(room mesh.Room) api.Room {
	out := api.Room{Code: room.Code, Members: apiMembers(room.Members), Joined: room.Joined, Expires: room.Expires,
		Links: joinLinks(discovery.LANAddresses(r.d.cfg.Interfaces), r.d.port(), room.Code)}
	if len(out.Links) > 0 {
		out.Link = out.Links[0]
	}
	return out
}

// joinLinks returns a room's join link at each address, in the order
// given (discovery lists IPv4 first).
func joinLinks(addrs []netip.Addr, port int, code string) []string {
	links := []string{}
	for _, a := range addrs {
		links = append(links, "http://"+net.JoinHostPort(a.String(), strconv.Itoa(port))+"/r/"+code)
	}
	return links
}

func apiMembers(ms []mesh.Member) []api.Member {
	out := make([]api.Member, len(ms))
	for i, m := range ms {
		out[i] = api.Member{ID: m.ID, Name: m.Name, Kind: m.Kind, Home: m.Home, Rooms: m.Rooms}
	}
	return out
}

func addrStrings(addrs []netip.Addr) []string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out
}

// parseRoom reads a room code as the owner typed it.
func parseRoom(s string) (string, error) {
	code, ok := signal.NormalizeRoomCode(s)
	if !ok {
		return "", fmt.Errorf("%q is not a room code: codes are %d characters from %s", s, signal.RoomCodeLen, signal.RoomAlphabet)
	}
	return code, nil
}

func roomError(code string, err error) error {
	if errors.Is(err, mesh.ErrNoRoom) {
		return fmt.Errorf("no room %s on this network: check the code; a room ends an hour after its last member leaves", code)
	}
	return err
}
