package main

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/flexapi/flexapi"
)

// FuzzImportReaders feeds arbitrary files to the JSON Lines and CSV readers:
// every row either becomes a valid user or a rejection with a line number,
// and nothing panics.
func FuzzImportReaders(f *testing.F) {
	f.Add([]byte(`{"flex_user_sid":"FU00000000000000000000000000000001","email":"a@example.com","roles":["agent"]}`+"\n{\n"), false)
	f.Add([]byte("flex_user_sid,username,roles,version\nFU00000000000000000000000000000001,ana,\"agent,admin\",3\n,\"x\n"), true)
	f.Add([]byte("username\n\"\"\"\n"), true)
	f.Add([]byte("{\"username\":\"a\"} {\"username\":\"b\"}\nnull\n{\"Username\":\"c\"}garbage\n"), false)
	f.Add([]byte("\xef\xbb\xbf{\"username\":\"a\x00\xff\",\"roles\":\"agent, admin\"}\n"), false)
	f.Add([]byte("\xef\xbb\xbfusername,roles\n\x1b[2J,\" agent ,admin\"\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, asCSV bool) {
		format := "jsonl"
		if asCSV {
			format = "csv"
		}
		reader, err := newRecordReader(bytes.NewReader(data), "fuzz", format)
		if err != nil {
			return // a CSV header that names no known column
		}
		for range 10_000 {
			line, rec, err := reader.next()
			var rowErr *rowError
			switch {
			case errors.Is(err, io.EOF):
				return
			case errors.As(err, &rowErr):
				if rowErr.line < 1 {
					t.Fatalf("a rejection without a line number: %v", rowErr)
				}
				continue
			case err != nil:
				return
			}
			if u, err := rec.user(); err == nil && u.Validate() != nil {
				t.Fatalf("line %d: a record accepted as %+v fails validation", line, u)
			}
		}
	})
}

// FuzzSeed: no seed file makes parseSeed panic, and a seed it accepts
// passes the domain's checks, with every SID in canonical form.
func FuzzSeed(f *testing.F) {
	f.Add([]byte(seedYAML))
	f.Add([]byte(`{"accounts":[{"sid":"AC1","instances":[{"users":[{"roles":null}]}]}]}`))
	f.Add([]byte("accounts: [\n"))
	f.Add([]byte(seedYAML + "---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		seed, err := parseSeed(data)
		if err != nil {
			return
		}
		for _, a := range seed.Accounts {
			if sid, ok := flexapi.ParseSID(flexapi.AccountPrefix, a.SID); !ok || sid != a.SID {
				t.Fatalf("accepted account SID %q", a.SID)
			}
			for _, in := range a.Instances {
				for _, u := range in.Users {
					if err := u.Validate(); err != nil {
						t.Fatalf("accepted an invalid user: %v", err)
					}
				}
			}
		}
		if err := seed.Validate(); err != nil {
			t.Fatalf("an accepted seed fails Validate: %v", err)
		}
	})
}
