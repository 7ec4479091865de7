package web

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/ferry-dev/ferry/daemon/api"
)

// Transfers is what the API needs of the transfer engine.
type Transfers interface {
	List() []api.Transfer
	Get(id string) (api.Transfer, error)
	// Send starts sending paths to the device the owner named (a name, an
	// ID prefix or HOST:PORT) and returns the transfer's ID.
	Send(to string, paths []string) (string, error)
	Accept(id string) error
	Decline(id string) error
	Cancel(id string) error
	// Entries returns a transfer's files and folders.
	Entries(id string) ([]api.Entry, error)
	// Changed returns a channel closed at the next change of any transfer.
	Changed() <-chan struct{}
	// Clean drops what the interrupted incoming transfers hold: their
	// .part files and resume state.
	Clean() api.Cleaned
}

// Peers is what the API needs of the nearby devices.
type Peers interface {
	List() []api.Peer
	Trust(query string) (api.Trust, error)
	Untrust(query string) (api.Trust, error)
	Connect(ctx context.Context, addr string) (api.Peer, error)
	Forget(addr string) error
	Changed() <-chan struct{}
}

// Rooms is what the API and the join pages need of the rooms.
type Rooms interface {
	View() api.RoomsView
	// Room returns the room with the code as a person typed it; an
	// unknown or malformed code is an error that Is ErrNotFound.
	Room(code string) (api.Room, error)
	// Normal returns the code as a person typed it the way the wire
	// spells it, and whether it is a room code at all.
	Normal(code string) (string, bool)
	Create() (api.Room, error)
	Join(code string) (api.Room, error)
	Leave(code string) error
	Send(code string, paths []string) (api.RoomSend, error)
	Changed() <-chan struct{}
}

// Messages is what the API needs of short text messages.
type Messages interface {
	List() []api.Message
	Send(to, text string) (api.Message, error)
	Changed() <-chan struct{}
}

// Settings is what the API needs of the owner's settings.
type Settings interface {
	Get() api.Settings
	Save(s api.Settings) (api.SettingsSaved, error)
	Changed() <-chan struct{}
}

// Uploads keeps files the dashboard streams to the daemon, for sending.
type Uploads interface {
	Create() (api.Upload, error)
	// Write stores one file of upload id at path (relative, "/" between
	// folders) from body.
	Write(id, path string, body io.Reader) (api.Upload, error)
	// Paths returns the top-level items of upload id, to send.
	Paths(id string) ([]string, error)
	// Used tells that upload id was handed to transfers; it is removed
	// once they have all ended.
	Used(id string)
	Discard(id string) error
}

// ErrNotFound is what an error Is when it names something that does not
// exist; the API answers it with 404.
var ErrNotFound = errors.New("not found")

// NotFound marks err as naming something that does not exist.
func NotFound(err error) error { return notFound{err} }

type notFound struct{ error }

func (e notFound) Is(target error) bool { return target == ErrNotFound }
func (e notFound) Unwrap() error        { return e.error }

// LinkPath starts the path of a download link (transfer.LinkPrefix).
const LinkPath = "/get/"

// Links serves a file a browser downloads from this daemon: the transfer
// package's Manager. The token alone says which file, and whether at all.
type Links interface {
	ServeLink(w http.ResponseWriter, r *http.Request, token string)
}
