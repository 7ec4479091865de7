package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Client talks to a daemon's local API.
type Client struct {
	base string
	http *http.Client
}

// NewClient returns a client of the API at addr (HOST:PORT on loopback).
func NewClient(addr string) *Client {
	return &Client{base: "http://" + addr, http: &http.Client{}}
}

// Base returns the API's base URL.
func (c *Client) Base() string { return c.base }

// Do sends a request with body (if not nil) as JSON and decodes the answer
// into out (if not nil). An error answer becomes an error with the
// daemon's words.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w at %s (is it running?): %w", ErrNoAnswer, c.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e Error
		json.NewDecoder(resp.Body).Decode(&e)
		if e.Error == "" {
			e.Error = resp.Status
		}
		return errors.New(e.Error)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}

// ErrNoAnswer is what an error of Do Is when nothing answered at the
// daemon's address: it is not running, or not there any more.
var ErrNoAnswer = errors.New("the daemon does not answer")

// ErrDaemonStopped is what an error of Watch Is when the daemon stopped
// answering before the transfer ended: it stopped, or was killed. The
// transfer itself may go on once the daemon is back.
var ErrDaemonStopped = errors.New("the daemon stopped before the transfer ended")

// Watch follows a transfer until it ends, calling show on every snapshot,
// and returns the last one.
func (c *Client) Watch(ctx context.Context, id string, show func(Transfer)) (Transfer, error) {
	var last Transfer
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/api/transfers/"+id+"/watch", nil)
	if err != nil {
		return last, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return last, ctx.Err()
		}
		return last, fmt.Errorf("%w: %w", ErrDaemonStopped, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e Error
		json.NewDecoder(resp.Body).Decode(&e)
		return last, fmt.Errorf("watching the transfer: %s", e.Error)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var t Transfer
		if err := json.Unmarshal(sc.Bytes(), &t); err != nil {
			return last, fmt.Errorf("watching the transfer: %w", err)
		}
		last = t
		show(last)
	}
	if err := sc.Err(); err != nil {
		if ctx.Err() != nil {
			return last, ctx.Err()
		}
		// The stream broke off: the daemon was killed, or the connection
		// to it failed.
		return last, fmt.Errorf("%w: %w", ErrDaemonStopped, err)
	}
	if !last.State.Final() {
		return last, ErrDaemonStopped
	}
	return last, nil
}
