package lazydeadline

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// pair is a connection accepted through Listener and the client's end.
func pair(t *testing.T) (l *listener, server *conn, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wrapped := Listener(ln)
	t.Cleanup(func() { wrapped.Close() })
	if client, err = net.Dial("tcp", ln.Addr().String()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	c, err := wrapped.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	// Should a deadline never fire, the peer's leaving ends what waits on
	// it, with an error that is not the deadline's.
	backstop := time.AfterFunc(10*time.Second, func() { client.Close() })
	t.Cleanup(func() { backstop.Stop() })
	return wrapped.(*listener), c.(*conn), client
}

// readArmed reports whether the socket has c's read deadline; the sweep
// may change that at any moment.
func readArmed(c *conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.read.armed
}

// readUntil reads from c until it fails or brings data, and says when.
func readUntil(c net.Conn) (time.Time, []byte, error) {
	b := make([]byte, 16)
	n, err := c.Read(b)
	return time.Now(), b[:n], err
}

// A deadline far enough ahead to be only noted still ends a blocked read,
// and not before its time.
func TestFarDeadlineFires(t *testing.T) {
	_, c, _ := pair(t)
	at := time.Now().Add(horizon + 3*Resolution)
	c.SetReadDeadline(at)
	if readArmed(c) {
		t.Fatal("a deadline well ahead went to the socket at once")
	}
	when, _, err := readUntil(c)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read: %v; want the deadline's error", err)
	}
	if when.Before(at) {
		t.Errorf("the read ended %v before its deadline", at.Sub(when))
	}
	if late := when.Sub(at); late > 2*time.Second {
		t.Errorf("the read ended %v after its deadline", late)
	}
}

// A deadline moved further before it passes, or cleared, does not end the
// read at the earlier time, whether the socket already had it or not; data
// sent later arrives.
func TestMovedAndClearedDeadlinesDoNotFire(t *testing.T) {
	replacements := map[string]func(time.Time) time.Time{
		"moved":   func(first time.Time) time.Time { return first.Add(time.Hour) },
		"cleared": func(time.Time) time.Time { return time.Time{} },
	}
	for name, replace := range replacements {
		for _, armed := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/socket has it %v", name, armed), func(t *testing.T) {
				_, c, client := pair(t)
				first := time.Now().Add(horizon + Resolution)
				c.SetReadDeadline(first)
				if armed {
					c.armDue(first.Add(time.Second)) // as the sweep does when it nears
				}
				if had := readArmed(c); had != armed {
					t.Fatalf("the socket has the deadline: %v; the test wants %v", had, armed)
				}
				c.SetReadDeadline(replace(first))
				time.AfterFunc(time.Until(first)+3*Resolution, func() { client.Write([]byte("late")) })
				when, got, err := readUntil(c)
				if err != nil || string(got) != "late" {
					t.Fatalf("read: %q, %v; want the data sent after the first deadline", got, err)
				}
				if when.Before(first) {
					t.Errorf("the data came %v before the first deadline; the test proves nothing", first.Sub(when))
				}
			})
		}
	}
}

// A past deadline fails the read at once, and clearing it lets reads go
// on: how net/http stops its background read of a connection.
func TestPastDeadlineAtOnce(t *testing.T) {
	_, c, client := pair(t)
	c.SetReadDeadline(time.Unix(1, 0))
	start := time.Now()
	if _, _, err := readUntil(c); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read: %v; want the deadline's error", err)
	}
	if d := time.Since(start); d > Resolution {
		t.Errorf("a past deadline took %v to fail the read", d)
	}
	c.SetReadDeadline(time.Time{})
	client.Write([]byte("more"))
	if _, got, err := readUntil(c); err != nil || string(got) != "more" {
		t.Fatalf("read after clearing: %q, %v", got, err)
	}
}

// A write deadline well ahead ends a write the peer does not read.
func TestFarWriteDeadlineFires(t *testing.T) {
	_, c, _ := pair(t)
	at := time.Now().Add(horizon + 2*Resolution)
	c.SetWriteDeadline(at)
	block := make([]byte, 1<<20)
	var err error
	for err == nil {
		_, err = c.Write(block) // the client reads nothing: the buffers fill
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write: %v; want the deadline's error", err)
	}
	if now := time.Now(); now.Before(at) {
		t.Errorf("the write ended %v before its deadline", at.Sub(now))
	}
}

// Connections served on after their listener closed (a graceful shutdown)
// keep their deadlines; once the last is closed, the sweep stops.
func TestSweepOutlivesListener(t *testing.T) {
	l, c, _ := pair(t)
	l.Close()
	c.SetReadDeadline(time.Now().Add(horizon + 2*Resolution))
	if _, _, err := readUntil(c); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read after the listener closed: %v; want the deadline's error", err)
	}
	c.Close()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(Resolution / 2) {
		l.mu.Lock()
		sweeping := l.sweeping
		l.mu.Unlock()
		if !sweeping {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sweep runs on with no connection open")
		}
	}
}

// Closing a connection reaches the socket, and its peer sees the end.
func TestCloseReachesTheSocket(t *testing.T) {
	_, c, client := pair(t)
	c.Close()
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := client.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("the peer read %v; want EOF", err)
	}
}
