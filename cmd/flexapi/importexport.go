package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/flexapi/flexapi"
	"github.com/flexapi/flexapi/sqlstore"
)

// recordReader yields the rows of an import file one at a time. A row that
// cannot be read comes back as a *rowError, and reading goes on; any other
// error ends the import.
type recordReader interface {
	next() (line int, rec userRecord, err error)
}

type rowError struct {
	line int
	msg  string
}

func (e *rowError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

type jsonlReader struct {
	r    *bufio.Reader
	line int
}

// utf8BOM starts files that some editors and spreadsheets write.
var utf8BOM = []byte("\xef\xbb\xbf")

func (j *jsonlReader) next() (int, userRecord, error) {
	for {
		b, err := j.r.ReadBytes('\n')
		if len(b) == 0 && err != nil {
			return j.line, userRecord{}, err
		}
		j.line++
		if j.line == 1 {
			b = bytes.TrimPrefix(b, utf8BOM)
		}
		if b = bytes.TrimSpace(b); len(b) == 0 {
			continue
		}
		rec, msg := decodeRecord(b)
		if msg != "" {
			return j.line, rec, &rowError{j.line, msg}
		}
		return j.line, rec, nil
	}
}

// decodeRecord reads one line that must hold exactly one JSON object whose
// keys are record fields, each once and in their exact case. It returns a
// reason for the user when the line is anything else.
func decodeRecord(line []byte) (userRecord, string) {
	var rec userRecord
	if !utf8.Valid(line) {
		// encoding/json would replace the bytes; a bad value is rejected instead.
		return rec, "the line is not valid UTF-8"
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return rec, "not a JSON object of user fields"
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		key, ok := tok.(string)
		if err != nil || !ok {
			return rec, "not a valid JSON object"
		}
		dst, want := rec.field(key)
		switch {
		case dst == nil:
			return rec, fmt.Sprintf("unknown field %s", quoteCell(key))
		case seen[key]:
			return rec, fmt.Sprintf("field %q appears twice", key)
		}
		seen[key] = true
		if err := dec.Decode(dst); err != nil {
			var syntax *json.SyntaxError
			if errors.As(err, &syntax) || errors.Is(err, io.ErrUnexpectedEOF) {
				return rec, "not a valid JSON object"
			}
			return rec, fmt.Sprintf("%s must be %s", key, want)
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return rec, "not a valid JSON object"
	}
	if rest := bytes.TrimSpace(line[dec.InputOffset():]); len(rest) > 0 {
		return rec, "more than one JSON value on the line: a line holds one user"
	}
	return rec, ""
}

type csvReader struct {
	r      *csv.Reader
	header []string
}

func newCSVReader(r io.Reader) (*csvReader, error) {
	c := &csvReader{r: csv.NewReader(r)}
	c.r.ReuseRecord = true
	header, err := c.r.Read()
	if err != nil {
		return nil, fmt.Errorf("CSV header: %w", err)
	}
	c.header = append([]string(nil), header...)
	c.header[0] = strings.TrimPrefix(c.header[0], string(utf8BOM))
	for _, col := range c.header {
		if !recordFields[col] {
			return nil, fmt.Errorf("CSV header: unknown column %s", quoteCell(col))
		}
	}
	return c, nil
}

func (c *csvReader) next() (int, userRecord, error) {
	cells, err := c.r.Read()
	var parseErr *csv.ParseError
	if errors.As(err, &parseErr) {
		return parseErr.StartLine, userRecord{}, &rowError{parseErr.StartLine, parseErr.Err.Error()}
	}
	if err != nil {
		return 0, userRecord{}, err
	}
	line, _ := c.r.FieldPos(0) // only after a record: it panics otherwise
	var rec userRecord
	for i, cell := range cells {
		if err := rec.setCSV(c.header[i], cell); err != nil {
			return line, rec, &rowError{line, err.Error()}
		}
	}
	return line, rec, nil
}

// importSummary is what an import did, row by row.
type importSummary struct {
	sqlstore.UpsertResult
	Rejected []*rowError
	Rows     int
}

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
	counted := &countingReader{r: src}
	reader, err := newRecordReader(counted, name, *format)
	if err != nil {
		return err
	}
	progress := newProgress(e.stderr, size)
	sum, err := importRecords(ctx, store, in, reader, *batch, func(rows int) { progress.update(rows, counted.n) })
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

func newRecordReader(r io.Reader, name, format string) (recordReader, error) {
	if format == "" {
		format = "jsonl"
		if strings.EqualFold(filepath.Ext(name), ".csv") {
			format = "csv"
		}
	}
	switch format {
	case "jsonl":
		return &jsonlReader{r: bufio.NewReaderSize(r, 64<<10)}, nil
	case "csv":
		return newCSVReader(r)
	}
	return nil, usageError{fmt.Errorf("--format must be jsonl or csv, not %q", format)}
}

// importRecords upserts the rows of reader into the instance, a batch per
// transaction, so that an interrupted import leaves only whole batches.
// Reading and checking rows runs beside the writes, one core each.
func importRecords(ctx context.Context, store *sqlstore.Store, in flexapi.Instance, reader recordReader,
	batchSize int, progress func(rows int)) (importSummary, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan readBatch, 2)
	go readBatches(ctx, reader, batchSize, batches)

	var sum importSummary
	for b := range batches {
		sum.Rejected = append(sum.Rejected, b.rejected...)
		if b.err == nil && len(b.users) > 0 {
			res, err := store.UpsertUsers(ctx, in, b.users)
			b.err = err
			sum.Inserted += res.Inserted
			sum.Updated += res.Updated
			sum.Unchanged += res.Unchanged
		}
		if b.err != nil {
			cancel()
			for range batches { // let the reader finish
			}
			return sum, b.err
		}
		sum.Rows = b.rows
		progress(sum.Rows)
	}
	return sum, ctx.Err()
}

// readBatch is a batch of checked users, the rows rejected on the way, and
// how many rows were read so far; err ends the import.
type readBatch struct {
	users    []flexapi.User
	rejected []*rowError
	rows     int
	err      error
}

func readBatches(ctx context.Context, reader recordReader, size int, out chan<- readBatch) {
	defer close(out)
	b, rows := readBatch{users: make([]flexapi.User, 0, size)}, 0
	send := func() bool {
		b.rows = rows
		select {
		case out <- b:
			b = readBatch{users: make([]flexapi.User, 0, size)}
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			b.err = err
			send()
			return
		}
		line, rec, err := reader.next()
		var rowErr *rowError
		switch {
		case errors.Is(err, io.EOF):
			send()
			return
		case errors.As(err, &rowErr):
			rows++
			b.rejected = append(b.rejected, rowErr)
			continue
		case err != nil:
			b.err = err
			send()
			return
		}
		rows++
		u, err := rec.user()
		if err != nil {
			b.rejected = append(b.rejected, &rowError{line, flexapi.ErrorMessage(err)})
			continue
		}
		if b.users = append(b.users, u); len(b.users) == size && !send() {
			return
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

func printSummary(w io.Writer, sum importSummary) {
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
		if err := enc.Encode(exportRecord(u, *a.publicURL)); err != nil {
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
