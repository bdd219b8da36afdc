package api

import (
	"context"
	"sync"
	"time"
)

// requestContext is a request's context: it carries the request's info for
// the log, and the store's deadline, whose timer is armed only once
// something waits on Done. A fetch answered from the store's cache never
// waits, and a timer for every request cost about a tenth of such a fetch.
// Once armed it is context.WithDeadline of the request's context, so that
// contexts derived from it are cancelled as usual, without a goroutine.
type requestContext struct {
	context.Context // the request's, from the server
	info            *requestInfo
	deadline        time.Time

	mu       sync.Mutex
	armed    context.Context // nil until something waits
	cancel   context.CancelFunc
	released bool
}

// init readies a requestContext in place (observe allocates it with the
// rest of the request's state).
func (c *requestContext) init(parent context.Context, ri *requestInfo, deadline time.Time) {
	c.Context, c.info, c.deadline = parent, ri, deadline
}

func (c *requestContext) arm() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.armed == nil {
		c.armed, c.cancel = context.WithDeadline(c.Context, c.deadline)
		if c.released {
			c.cancel()
		}
	}
	return c.armed
}

func (c *requestContext) armedContext() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.armed
}

// release ends the request: what waits on it is cancelled.
func (c *requestContext) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.released = true
	if c.cancel != nil {
		c.cancel()
	}
}

func (c *requestContext) Deadline() (time.Time, bool) {
	if d, ok := c.Context.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

func (c *requestContext) Done() <-chan struct{} { return c.arm().Done() }

func (c *requestContext) Err() error {
	c.mu.Lock()
	armed, released := c.armed, c.released
	c.mu.Unlock()
	switch {
	case armed != nil:
		return armed.Err()
	case released:
		return context.Canceled
	}
	if err := c.Context.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

func (c *requestContext) Value(key any) any {
	if key == (ctxKey{}) {
		return c.info
	}
	if armed := c.armedContext(); armed != nil {
		return armed.Value(key) // the deadline's own cancellation, for contexts derived from it
	}
	return c.Context.Value(key)
}
