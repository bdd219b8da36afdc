// Package lazydeadline keeps a server's connection deadlines off the
// runtime's timers until they are about to pass.
//
// net/http sets four or five deadlines on a connection for every request
// (the idle, header, whole-request and write timeouts), each seconds away,
// and almost none of them ever passes. Every one of them moves a runtime
// timer, under its lock: about 5% of the CPU of a cached fetch. A
// connection of this package only notes a deadline that lies well ahead; a
// sweep, every Resolution, hands each connection's deadlines that are about
// to pass to the socket, so that they fire when they should. A deadline that
// is near, past or cleared goes to the socket at once, as before.
package lazydeadline

import (
	"net"
	"sync"
	"time"
)

// Resolution is how often the sweep runs. A deadline is handed to the
// socket when it is at most two Resolutions away, so it fires on time
// unless the sweep runs a Resolution late (a starved process): then it
// fires late by as much, never early.
const Resolution = 100 * time.Millisecond

// horizon is how far ahead a deadline goes to the socket at once.
const horizon = 2 * Resolution

// Listener wraps ln: the TCP connections it accepts keep their deadlines
// lazily. Other connections are passed on as they are.
func Listener(ln net.Listener) net.Listener {
	return &listener{Listener: ln, conns: map[*conn]struct{}{}}
}

type listener struct {
	net.Listener
	mu       sync.Mutex
	conns    map[*conn]struct{} // open connections, for the sweep
	sweeping bool               // a sweep runs while conns is not empty
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	tcp, ok := c.(*net.TCPConn)
	if err != nil || !ok {
		return c, err
	}
	lc := &conn{TCPConn: tcp, l: l}
	l.mu.Lock()
	l.conns[lc] = struct{}{}
	if !l.sweeping {
		l.sweeping = true
		go l.sweep()
	}
	l.mu.Unlock()
	return lc, nil
}

// sweep hands due deadlines to their sockets until no connection is left
// open. It outlives the listener: connections still being served after it
// closed (a graceful shutdown) keep their deadlines.
func (l *listener) sweep() {
	tick := time.NewTicker(Resolution)
	defer tick.Stop()
	var open []*conn
	for range tick.C {
		l.mu.Lock()
		if len(l.conns) == 0 {
			l.sweeping = false
			l.mu.Unlock()
			return
		}
		open = open[:0]
		for c := range l.conns {
			open = append(open, c)
		}
		l.mu.Unlock()
		soon := time.Now().Add(horizon)
		for _, c := range open {
			c.armDue(soon)
		}
		clear(open) // hold no closed connection until the next tick
	}
}

func (l *listener) forget(c *conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// conn is a TCP connection whose deadlines the socket learns of late. It
// embeds *net.TCPConn, so that net/http still finds CloseWrite and ReadFrom.
type conn struct {
	*net.TCPConn
	l           *listener
	mu          sync.Mutex
	read, write deadline
}

// deadline is one direction's: the time asked for (zero: none), and whether
// the socket has it.
type deadline struct {
	at    time.Time
	armed bool
}

func (c *conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

func (c *conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.set(&c.read, t, c.TCPConn.SetReadDeadline)
}

func (c *conn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.set(&c.write, t, c.TCPConn.SetWriteDeadline)
}

// set notes t as d, and tells the socket now only when it must: t is near
// or past, or the socket holds an earlier deadline that t replaces. A
// deadline only noted reports no error, even on a closed connection (whose
// next read or write reports that).
func (c *conn) set(d *deadline, t time.Time, toSocket func(time.Time) error) error {
	d.at = t
	switch {
	case t.IsZero() && !d.armed:
		return nil
	case t.IsZero():
		d.armed = false
		return toSocket(t)
	case !d.armed && time.Until(t) > horizon:
		return nil // the sweep arms it when it nears
	}
	d.armed = true
	return toSocket(t)
}

// armDue hands the socket the deadlines that pass before soon.
func (c *conn) armDue(soon time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.read.armIfDue(soon, c.TCPConn.SetReadDeadline)
	c.write.armIfDue(soon, c.TCPConn.SetWriteDeadline)
}

// armIfDue hands the socket d if it is only noted and passes before soon.
func (d *deadline) armIfDue(soon time.Time, toSocket func(time.Time) error) {
	if !d.armed && !d.at.IsZero() && d.at.Before(soon) {
		d.armed = true
		toSocket(d.at)
	}
}

func (c *conn) Close() error {
	c.l.forget(c)
	return c.TCPConn.Close()
}
