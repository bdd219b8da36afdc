package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/flexapi/flexapi/fixture"
)

func runImport(ctx context.Context, e *env, args []string) error {
	a := newInstanceFlags("import", e)
	format := a.fs.String("format", "", "jsonl or csv (default: from the file name; jsonl for -)")
	batch := a.fs.Int("batch-size", 1000, "rows per transaction")
	store, in, err := a.openInstance(ctx, e, args)
	if err != nil {
		return err
	}
	defer store.Close()
	if a.fs.NArg() != 1 || *batch < 1 {
		return usageError{errors.New("usage: flexapi import --instance GO… FILE.jsonl|FILE.csv|-")}
	}

	name := a.fs.Arg(0)
	var src io.Reader = e.stdin
	var size int64
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil {
			size = st.Size()
		}
		src = f
	}
	if name == "-" && *format == "" {
		peek := bufio.NewReader(src)
		if !looksLikeJSONLines(peek) {
			return usageError{errors.New("standard input is read as JSON Lines, and it does not start with {: for CSV, pass --format csv")}
		}
		src = peek
	}
	if *format != "" && *format != "jsonl" && *format != "csv" {
		return usageError{fmt.Errorf("--format must be jsonl or csv, not %q", *format)}
	}
	counted := &countingReader{r: src}
	reader, err := fixture.NewReader(counted, name, *format)
	if err != nil {
		return err
	}
	progress := newProgress(e.stderr, size)
	sum, err := fixture.Import(ctx, store, in, reader, *batch, func(rows int) { progress.update(rows, counted.n) })
	progress.done()
	printSummary(e.stdout, sum)
	if err != nil {
		return fmt.Errorf("import stopped after %d rows (every batch before it is committed): %w", sum.Rows, err)
	}
	if len(sum.Rejected) > 0 {
		return errors.New(rows(len(sum.Rejected)) + " rejected")
	}
	return nil
}

// looksLikeJSONLines reports whether the first byte that is not space (or a
// byte-order mark) opens a JSON object; an empty input does too.
func looksLikeJSONLines(r *bufio.Reader) bool {
	for n := 1; ; n++ {
		b, err := r.Peek(n)
		if len(b) < n || err != nil {
			return true
		}
		switch c := b[n-1]; {
		case c == '{':
			return true
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0xef || c == 0xbb || c == 0xbf:
		default:
			return false
		}
	}
}

// rows is "1 row" or "N rows".
func rows(n int) string {
	if n == 1 {
		return "1 row"
	}
	return strconv.Itoa(n) + " rows"
}

func printSummary(w io.Writer, sum fixture.Summary) {
	fmt.Fprintf(w, "%s: %d inserted, %d updated, %d unchanged, %d rejected\n",
		rows(sum.Rows), sum.Inserted, sum.Updated, sum.Unchanged, len(sum.Rejected))
	for _, r := range sum.Rejected {
		fmt.Fprintf(w, "  rejected %s\n", r)
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// progress draws a one-line bar with rate and ETA on a terminal, and
// nothing elsewhere, so that logs and pipes get only the summary.
type progress struct {
	w     io.Writer
	on    bool
	size  int64
	start time.Time
	last  time.Time
}

func newProgress(w io.Writer, size int64) *progress {
	f, ok := w.(*os.File)
	on := false
	if ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			on = true
		}
	}
	return &progress{w: w, on: on, size: size, start: time.Now()}
}

func (p *progress) update(rows int, read int64) {
	now := time.Now()
	if !p.on || now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last = now
	elapsed := now.Sub(p.start).Seconds()
	rate := float64(rows) / max(elapsed, 1e-9)
	line := fmt.Sprintf("%d rows, %.0f rows/s", rows, rate)
	if p.size > 0 && read > 0 {
		frac := min(float64(read)/float64(p.size), 1)
		const width = 30
		filled := int(frac * width)
		eta := time.Duration(elapsed * (1 - frac) / max(frac, 1e-9) * float64(time.Second)).Round(time.Second)
		line = fmt.Sprintf("[%s%s] %3.0f%% %s, ETA %s", strings.Repeat("=", filled), strings.Repeat(" ", width-filled), frac*100, line, eta)
	}
	fmt.Fprintf(p.w, "\r%-80s", line)
}

func (p *progress) done() {
	if p.on && !p.last.IsZero() {
		fmt.Fprintf(p.w, "\r%-80s\r", "")
	}
}

func runExport(ctx context.Context, e *env, args []string) error {
	a := newUserFlags("export", e)
	out := a.fs.String("out", "", "file to write (default: standard output)")
	store, in, err := a.openInstance(ctx, e, args)
	if err != nil {
		return err
	}
	defer store.Close()
	w := e.stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	for u, err := range store.AllUsers(ctx, in.SID) {
		if err != nil {
			return err
		}
		if err := enc.Encode(fixture.ExportRecord(u, *a.publicURL)); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if f, ok := w.(*os.File); ok && *out != "" {
		return f.Close()
	}
	return nil
}
