package sqlstore

import (
	"context"
	"sync"
	"sync/atomic"
)

// writeQueue runs a SQLite store's writes one at a time. SQLite has one
// writer and the store one write connection, so writes always took turns;
// but a turn handed from one request's goroutine to the next began only once
// that goroutine was woken and scheduled, and under load that gap was a
// third of a write's time, in which nothing was written. A write that finds
// none under way runs on its caller's goroutine; those that come meanwhile
// wait in the queue, which one goroutine serves back to back while writes
// wait.
type writeQueue struct {
	mu      sync.Mutex
	waiting []*writeJob
	running bool // a goroutine serves the queue
}

type writeJob struct {
	run      func() error
	state    atomic.Int32 // jobWaiting, then jobTaken or jobAbandoned
	err      error
	panicked any // what run panicked with, for the caller to panic with
	done     chan struct{}
}

const (
	jobWaiting int32 = iota
	jobTaken
	jobAbandoned
)

// do runs run in its turn and returns its error. With no write under way,
// the caller's goroutine writes at once: a lone write costs no handoff.
// Otherwise the write waits in the queue. A caller whose context ends before
// its write is begun gives up, and the write is never begun; one whose write
// has begun waits for its end, which its context brings soon (the write's
// statements run under it), so that nobody is told a write failed that then
// commits.
func (q *writeQueue) do(ctx context.Context, run func() error) error {
	q.mu.Lock()
	if !q.running {
		q.running = true
		q.mu.Unlock()
		defer q.handOff()
		return run()
	}
	j := &writeJob{run: run, done: make(chan struct{})}
	q.waiting = append(q.waiting, j)
	q.mu.Unlock()
	select {
	case <-j.done:
	case <-ctx.Done():
		if j.state.CompareAndSwap(jobWaiting, jobAbandoned) {
			return wrap(ctx.Err())
		}
		<-j.done
	}
	if j.panicked != nil {
		panic(j.panicked)
	}
	return j.err
}

// handOff ends a write run by its caller: the writes that came meanwhile get
// a goroutine of their own, so that the caller returns at once.
func (q *writeQueue) handOff() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.waiting) == 0 {
		q.running = false
		return
	}
	go q.serve()
}

// serve runs the waiting writes in the order they came, passing over the
// abandoned ones.
func (q *writeQueue) serve() {
	for j := q.next(); j != nil; j = q.next() {
		if j.state.CompareAndSwap(jobWaiting, jobTaken) {
			j.runOnce()
		}
	}
}

// runOnce runs the job and hands over its outcome, a panic included: a
// write's bug fails its request, as it did on the request's goroutine, not
// the process.
func (j *writeJob) runOnce() {
	defer close(j.done)
	defer func() { j.panicked = recover() }()
	j.err = j.run()
}

// next takes the oldest waiting write, or gives up the queue's goroutine when
// none waits; under one lock, so that no write is left with nobody to run it.
func (q *writeQueue) next() *writeJob {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.waiting) == 0 {
		q.running = false
		return nil
	}
	j := q.waiting[0]
	q.waiting[0] = nil
	if q.waiting = q.waiting[1:]; len(q.waiting) == 0 {
		q.waiting = nil
	}
	return j
}
