package api

import (
	"io"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// AccessLog writes the one line per request that the server logs, built by
// hand into a buffer that a goroutine of its own writes out about 10 ms after
// its first line, or at 64 KiB: a request pays for an append, not for slog's
// formatting nor a write to a pipe, and an idle server's writer sleeps. A
// consumer too slow to keep up never blocks a request: past maxPending bytes
// waiting, lines are dropped and counted.
type AccessLog struct {
	w       io.Writer
	json    bool
	dropped func() // told of each dropped line; may be nil

	mu      sync.Mutex
	buf     []byte
	closed  bool
	stamp   stampCache
	wake    chan struct{} // the first line into an empty buffer, a full buffer, or Close
	stopped chan struct{}
}

// Thresholds of the access log.
const (
	accessFlushBytes = 64 << 10
	accessMaxPending = 4 << 20
	accessFlushEvery = 10 * time.Millisecond
)

// NewAccessLog writes lines to w as text (key=value, as slog's text handler)
// or, with format "json", as slog's JSON handler would; dropped hears of each
// line dropped for a slow w. Close writes what is left.
func NewAccessLog(w io.Writer, format string, dropped func()) *AccessLog {
	l := &AccessLog{w: w, json: format == "json", dropped: dropped, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	go l.run()
	return l
}

// run writes the lines out. It sleeps while none wait, so that an idle
// server wakes for nothing: the first line into an empty buffer wakes it,
// and it lets more gather for accessFlushEvery, unless the buffer fills or
// the log closes first.
func (l *AccessLog) run() {
	defer close(l.stopped)
	gather := time.NewTimer(accessFlushEvery)
	gather.Stop()
	var out []byte
	for {
		<-l.wake
		if !l.due() {
			gather.Reset(accessFlushEvery)
			select {
			case <-gather.C:
			case <-l.wake:
			}
			gather.Stop()
		}
		l.mu.Lock()
		out, l.buf = l.buf, out[:0]
		closed := l.closed
		l.mu.Unlock()
		if len(out) > 0 {
			l.w.Write(out)
		}
		if closed {
			return
		}
	}
}

// due tells whether what waits is to be written at once: the buffer is
// full, or the log closed.
func (l *AccessLog) due() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed || len(l.buf) >= accessFlushBytes
}

// Close writes every line logged so far, and stops the writer.
func (l *AccessLog) Close() error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	<-l.stopped
	return nil
}

// accessEntry is what a line says of one request.
type accessEntry struct {
	time       time.Time
	method     string
	path       string
	status     int
	durationMS float64
	requestID  string
	accountSID string
	bytes      int
}

// Log appends the line of one request, for servers other than flexapi's
// handler that answer in its shape (the benchmark's contract baseline).
func (l *AccessLog) Log(method, path string, status int, took time.Duration, requestID, accountSID string, bytes int) {
	l.log(accessEntry{time: time.Now(), method: method, path: path, status: status,
		durationMS: float64(took.Microseconds()) / 1000, requestID: requestID, accountSID: accountSID, bytes: bytes})
}

// log appends the line of e.
func (l *AccessLog) log(e accessEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || len(l.buf) > accessMaxPending {
		if l.dropped != nil {
			l.dropped()
		}
		return
	}
	first := len(l.buf) == 0
	if l.json {
		l.buf = appendJSONLine(l.buf, e, &l.stamp)
	} else {
		l.buf = appendTextLine(l.buf, e, &l.stamp)
	}
	if first || len(l.buf) >= accessFlushBytes {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
}

func appendJSONLine(b []byte, e accessEntry, stamp *stampCache) []byte {
	b = append(b, `{"time":"`...)
	b = stamp.append(b, e.time, 9)
	b = append(b, `","level":"INFO","msg":"request","method":`...)
	b = appendString(b, e.method)
	b = append(b, `,"path":`...)
	b = appendString(b, e.path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(e.status), 10)
	b = append(b, `,"duration_ms":`...)
	b = strconv.AppendFloat(b, e.durationMS, 'f', -1, 64)
	b = append(b, `,"request_id":`...)
	b = appendString(b, e.requestID)
	b = append(b, `,"account_sid":`...)
	b = appendString(b, e.accountSID)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, int64(e.bytes), 10)
	return append(b, "}\n"...)
}

func appendTextLine(b []byte, e accessEntry, stamp *stampCache) []byte {
	b = append(b, "time="...)
	b = stamp.append(b, e.time, 3)
	b = append(b, " level=INFO msg=request method="...)
	b = appendTextValue(b, e.method)
	b = append(b, " path="...)
	b = appendTextValue(b, e.path)
	b = append(b, " status="...)
	b = strconv.AppendInt(b, int64(e.status), 10)
	b = append(b, " duration_ms="...)
	b = strconv.AppendFloat(b, e.durationMS, 'f', -1, 64)
	b = append(b, " request_id="...)
	b = appendTextValue(b, e.requestID)
	b = append(b, " account_sid="...)
	b = appendTextValue(b, e.accountSID)
	b = append(b, " bytes="...)
	b = strconv.AppendInt(b, int64(e.bytes), 10)
	return append(b, '\n')
}

// stampCache formats times as "2006-01-02T15:04:05" + fraction + zone,
// formatting the date, time of day and zone only once a second: the lines of
// one second share them.
type stampCache struct {
	second     int64
	zoneOffset int
	head, zone []byte
}

// append writes t with digits decimals of the second.
func (c *stampCache) append(b []byte, t time.Time, digits int) []byte {
	_, offset := t.Zone()
	if sec := t.Unix(); sec != c.second || offset != c.zoneOffset || c.head == nil {
		c.second, c.zoneOffset = sec, offset
		c.head = t.AppendFormat(c.head[:0], "2006-01-02T15:04:05")
		c.zone = t.AppendFormat(c.zone[:0], "Z07:00")
	}
	b = append(b, c.head...)
	b = append(b, '.')
	frac := t.Nanosecond()
	for range 9 - digits {
		frac /= 10
	}
	var d [9]byte
	for i := digits - 1; i >= 0; i-- {
		d[i] = byte('0' + frac%10)
		frac /= 10
	}
	b = append(b, d[:digits]...)
	return append(b, c.zone...)
}

// appendTextValue writes s bare when it is plain, else quoted, as slog's
// text handler does: the line stays one line whatever a client sent.
func appendTextValue(b []byte, s string) []byte {
	if s == "" {
		return append(b, `""`...)
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c <= ' ' || c == '=' || c == '"' || c == 0x7f {
				return strconv.AppendQuote(b, s)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError {
			return strconv.AppendQuote(b, s)
		}
		i += size
	}
	return append(b, s...)
}
