package transfer

import (
	"errors"
	"fmt"
	"time"

	"github.com/ferry-dev/ferry/daemon/proto"
	"github.com/ferry-dev/ferry/daemon/store"
)

// expire declines an offer nobody answered within PendingTTL.
func (t *incoming) expire() {
	t.mu.Lock()
	if t.state != StatePending {
		t.mu.Unlock()
		return
	}
	rs := t.sess
	t.mu.Unlock()
	t.refuse(rs, StateExpired, proto.Errorf(proto.CodeExpired, "the offer expired after %s without an answer", t.m.cfg.PendingTTL))
}

func (t *incoming) decline() error {
	t.mu.Lock()
	if t.state != StatePending || !t.assembled {
		t.mu.Unlock()
		return fmt.Errorf("transfer %s: %w", t.id, ErrNotPending)
	}
	rs := t.sess
	t.mu.Unlock()
	t.refuseAs(rs, StateDeclined, proto.Errorf(proto.CodeDeclined, "%s declined the transfer", t.m.cfg.Name), "you declined the transfer")
	return nil
}

// refuse ends a pending offer in state and tells the sender why over rs,
// if it is still connected.
func (t *incoming) refuse(rs *rsession, state State, pe *proto.Error) { t.refuseAs(rs, state, pe, "") }

// refuseAs is refuse with the owner's words for it (endAs).
func (t *incoming) refuseAs(rs *rsession, state State, pe *proto.Error, own string) {
	t.endAs(state, pe, own)
	if rs != nil {
		rs.sendControl(Control{Type: MsgDecline, Code: pe.Code, Text: pe.Text})
		rs.closeSoon()
	}
	t.m.notify()
}

// accept places the manifest in the downloads folder and asks for bytes.
// When the same sender's earlier transfer of the same files was
// interrupted, it continues that one's part files instead (adopt).
func (t *incoming) accept() error {
	earlier := t.m.earlier(t)
	t.mu.Lock()
	if t.state != StatePending || !t.assembled {
		t.mu.Unlock()
		return fmt.Errorf("transfer %s: %w", t.id, ErrNotPending)
	}
	if pe := t.checkSpace(); pe != nil {
		t.mu.Unlock()
		return errors.New(pe.Text)
	}
	adopted := earlier != nil && t.adopt(earlier)
	if !adopted {
		se := make([]store.Entry, len(t.entries))
		for i, e := range t.entries {
			se[i] = store.Entry{Path: e.Path, Dir: e.Dir}
		}
		place, err := t.m.cfg.Downloads.Place(se)
		if err != nil {
			t.mu.Unlock()
			return fmt.Errorf("accepting transfer %s: %w", t.id, err)
		}
		t.place, t.placed = place, place.Paths()
		t.files = make([]inFile, len(t.entries))
		for i, e := range t.entries {
			if e.Dir {
				t.files[i].done, t.files[i].final = true, t.placed[i]
			}
		}
	}
	if t.expiry != nil {
		t.expiry.Stop()
	}
	t.state = StateActive
	t.updated = time.Now()
	t.save()
	if adopted {
		// Only now: until this transfer's state is saved, the earlier
		// one's is what a restart would find the part files by.
		t.m.cfg.States.Remove(earlier.id)
	}
	rs := t.sess
	t.m.cfg.Log.Info("Transfer accepted", "transfer", t.id, "peer", t.peer.label())
	if rs != nil {
		t.resume(rs)
	}
	t.mu.Unlock()
	t.m.notify()
	return nil
}

// cancel ends the transfer at the owner's word and tells the sender.
func (t *incoming) cancel() error {
	t.mu.Lock()
	if t.state.Final() {
		t.mu.Unlock()
		return fmt.Errorf("transfer %s has already ended", t.id)
	}
	rs := t.sess
	t.mu.Unlock()
	pe := proto.Errorf(proto.CodeCancelled, "%s cancelled the transfer", t.m.cfg.Name)
	t.endAs(StateCancelled, pe, "you cancelled the transfer")
	if rs != nil {
		rs.sendControl(Control{Type: MsgCancel, Code: pe.Code, Text: pe.Text})
		rs.closeSoon()
	}
	t.m.notify()
	return nil
}
