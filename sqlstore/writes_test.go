package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/flexapi/flexapi"
)

// holdWrites begins a write on s that holds the write turn until the returned
// function is called.
func holdWrites(t *testing.T, s *Store) (release func()) {
	t.Helper()
	held, done := make(chan struct{}), make(chan struct{})
	go s.inTx(context.Background(), func(*sql.Tx) error {
		close(held)
		<-done
		return nil
	})
	<-held
	return sync.OnceFunc(func() { close(done) })
}

// A write whose context ends while it waits its turn gives up with
// EUNAVAILABLE at that moment, and is never begun: its caller was told it
// failed, so it must not commit later.
func TestQueuedWriteGivesUpWithItsContext(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "flexapi.db"))
	release := holdWrites(t, s)
	time.AfterFunc(2*time.Second, release) // were the deadline not kept: a failure, not a hang
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	ran := false
	start := time.Now()
	err := s.inTx(ctx, func(*sql.Tx) error { ran = true; return nil })
	if flexapi.ErrorCode(err) != flexapi.EUNAVAILABLE {
		t.Errorf("a write behind one that does not end: %v; want EUNAVAILABLE", err)
	}
	if waited := time.Since(start); waited > time.Second {
		t.Errorf("it gave up after %v; its deadline was 50ms", waited)
	}
	release()
	if err := s.inTx(context.Background(), func(*sql.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if ran {
		t.Error("the abandoned write ran once the queue moved on")
	}
}

// A write that panics panics in its caller, as it would have on the
// caller's own goroutine, whether it ran there (alone) or on the queue's
// (behind another write); its transaction is rolled back, and the writes
// after it are served.
func TestPanickingWriteFailsOnlyItsCaller(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "flexapi.db"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i, queued := range []bool{false, true} {
		account := fmt.Sprintf("AC%d", i)
		func() {
			defer func() {
				if v := recover(); v != "write bug" {
					t.Errorf("queued %v: recovered %v; want the write's panic", queued, v)
				}
			}()
			if queued {
				release := holdWrites(t, s)
				time.AfterFunc(10*time.Millisecond, release)
			}
			s.inTx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.Exec(`INSERT INTO accounts (sid, primary_token_hash, created_date) VALUES ($1, 'x', 0)`, account); err != nil {
					t.Error(err)
				}
				panic("write bug")
			})
		}()
		if err := s.CreateAccount(ctx, &flexapi.Account{SID: account + "-after"}, flexapi.HashSecret("x")); err != nil {
			t.Fatalf("queued %v: the write after the panic: %v", queued, err)
		}
		if _, err := s.Credential(ctx, account); flexapi.ErrorCode(err) != flexapi.ENOTFOUND {
			t.Errorf("queued %v: the panicking write's insert: %v; want it rolled back (ENOTFOUND)", queued, err)
		}
	}
}

// Writes from many goroutines run one at a time, each once, and the queue's
// goroutine ends when none waits.
func TestQueuedWritesRunOneAtATime(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "flexapi.db"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a stuck queue fails the test
	defer cancel()
	var mu sync.Mutex
	running, most, count := 0, 0, 0
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 20 {
				err := s.inTx(ctx, func(*sql.Tx) error {
					mu.Lock()
					running++
					most = max(most, running)
					count++
					mu.Unlock()
					time.Sleep(50 * time.Microsecond)
					mu.Lock()
					running--
					mu.Unlock()
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if most != 1 || count != 16*20 {
		t.Errorf("%d writes ran, at most %d at once; want %d, one at a time", count, most, 16*20)
	}
	// The last write's caller may return just before the goroutine that ran
	// it looks for another.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		s.writes.mu.Lock()
		running, waiting := s.writes.running, len(s.writes.waiting)
		s.writes.mu.Unlock()
		if !running && waiting == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("with no write waiting, the queue still runs (%v) or holds %d", running, waiting)
		}
	}
}
