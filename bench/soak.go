package main

import (
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// runSoak drives one server for minutes at a fixed rate of mixed reads and
// writes, and reports errors, p99 over time and memory at start and end:
// what a server that runs for months must keep flat.
//
//	go run ./bench soak [-minutes 10] [-rate 2000] [-users 10000]
func runSoak(args []string) error {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	minutes := fs.Float64("minutes", 10, "how long to run")
	rate := fs.Int("rate", 2000, "requests a second (90% fetch, 10% update)")
	users := fs.Int("users", 10_000, "users in the store")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var c config
	cleanup, err := c.workspace("flexapi-soak-")
	if err != nil {
		return err
	}
	defer cleanup()
	db := filepath.Join(c.work, "flexapi.db")
	if _, err := prepare(c, db, *users); err != nil {
		return err
	}
	p, _, err := startServe(c, db)
	if err != nil {
		return err
	}
	defer p.stop()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 10 * time.Second}
	var mu sync.Mutex
	var latencies []time.Duration
	var errors atomic.Int64
	one := func() {
		i := rand.IntN(*users)
		u := fmt.Sprintf("%s/v2/Instances/%s/Users/FU%032x", p.url(), instance, i)
		var req *http.Request
		if rand.IntN(10) == 0 {
			req, _ = http.NewRequest("POST", u, strings.NewReader(fmt.Sprintf("Email=soak%d-%d%%40example.com", i, rand.Int())))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req, _ = http.NewRequest("GET", u, nil)
		}
		req.SetBasicAuth(account, token)
		start := time.Now()
		res, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		d := time.Since(start)
		if err != nil || res.StatusCode != 200 {
			errors.Add(1)
		}
		mu.Lock()
		latencies = append(latencies, d)
		mu.Unlock()
	}

	startRSS := p.rssMiB()
	fmt.Printf("soak: %d requests/s for %.1f min against %d users; resident memory before load %.1f MiB\n", *rate, *minutes, *users, startRSS)
	fmt.Println("minute  requests  errors     p50      p99   memory")
	start := time.Now()
	length := time.Duration(*minutes * float64(time.Minute))
	printWindow := func() {
		mu.Lock()
		window := latencies
		latencies = nil
		mu.Unlock()
		slices.Sort(window)
		if len(window) > 0 {
			fmt.Printf("%6.1f  %8d  %6d  %6s  %7s  %5.1f MiB\n", time.Since(start).Minutes(), len(window), errors.Swap(0),
				window[len(window)/2].Round(10*time.Microsecond), window[len(window)*99/100].Round(10*time.Microsecond), p.rssMiB())
		}
	}
	// Every 10 ms, send what the rate says is due by now: a steady rate that
	// a slow moment does not lower.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var wg sync.WaitGroup
	sent, nextReport := 0, start.Add(30*time.Second)
	for now := range tick.C {
		if now.Sub(start) >= length {
			break
		}
		for due := int(now.Sub(start).Seconds() * float64(*rate)); sent < due; sent++ {
			wg.Add(1)
			go func() { defer wg.Done(); one() }()
		}
		if now.After(nextReport) {
			printWindow()
			nextReport = now.Add(30 * time.Second)
		}
	}
	wg.Wait()
	printWindow()
	return nil
}
