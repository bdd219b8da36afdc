package api

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A request context that nothing waits on arms no timer, yet reports its
// deadline and its info.
func TestRequestContextArmsOnlyWhenWaitedOn(t *testing.T) {
	ri := &requestInfo{id: "RQ1"}
	c := newRequestContext(context.Background(), ri, time.Hour)
	if d, ok := c.Deadline(); !ok || time.Until(d) < 59*time.Minute {
		t.Errorf("Deadline() = %v, %v", d, ok)
	}
	if info(c) != ri || c.Err() != nil {
		t.Errorf("info %v, Err %v", info(c), c.Err())
	}
	if c.armedContext() != nil {
		t.Fatal("a timer was armed with nothing waiting")
	}
	c.release()
	if !errors.Is(c.Err(), context.Canceled) {
		t.Errorf("after the request, Err() = %v", c.Err())
	}
	select {
	case <-c.Done():
	default:
		t.Error("Done is open after the request ended")
	}
}

// Once waited on, it is cancelled at its deadline, and so are the contexts
// derived from it.
func TestRequestContextEndsAtItsDeadline(t *testing.T) {
	c := newRequestContext(context.Background(), &requestInfo{}, 50*time.Millisecond)
	defer c.release()
	child, cancel := context.WithCancel(c)
	defer cancel()
	select {
	case <-child.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the derived context outlived the deadline")
	}
	if !errors.Is(c.Err(), context.DeadlineExceeded) || !errors.Is(child.Err(), context.DeadlineExceeded) {
		t.Errorf("Err() = %v, derived %v", c.Err(), child.Err())
	}
	if info(child) == nil || info(child) != info(c) {
		t.Error("a derived context lost the request's info")
	}
}

// A deadline passed before anything waited shows in Err at once.
func TestRequestContextPastDeadline(t *testing.T) {
	c := newRequestContext(context.Background(), &requestInfo{}, time.Nanosecond)
	defer c.release()
	time.Sleep(time.Millisecond)
	if !errors.Is(c.Err(), context.DeadlineExceeded) {
		t.Errorf("Err() = %v", c.Err())
	}
	select {
	case <-c.Done():
	case <-time.After(time.Second):
		t.Error("Done stays open past the deadline")
	}
}

// The request's own cancellation (the client went away) passes through.
func TestRequestContextFollowsItsParent(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	c := newRequestContext(parent, &requestInfo{}, time.Hour)
	defer c.release()
	cancel()
	if !errors.Is(c.Err(), context.Canceled) {
		t.Errorf("Err() = %v", c.Err())
	}
	select {
	case <-c.Done():
	case <-time.After(time.Second):
		t.Error("Done stays open after the parent's cancellation")
	}
}

func newRequestContext(parent context.Context, ri *requestInfo, timeout time.Duration) *requestContext {
	c := &requestContext{}
	c.init(parent, ri, time.Now().Add(timeout))
	return c
}
