package sqlstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/flexapi/flexapi"
	"github.com/flexapi/flexapi/internal/pgtest"
)

// The raw store operations under the HTTP layer: BenchmarkFetch and
// BenchmarkUpdate in package api minus these is the HTTP layer's own cost.

func eachBackendB(b *testing.B, bench func(b *testing.B, dsn string)) {
	b.Run("sqlite", func(b *testing.B) { bench(b, filepath.Join(b.TempDir(), "flexapi.db")) })
	b.Run("postgres", func(b *testing.B) { bench(b, pgtest.URL(b)) })
}

func BenchmarkUser(b *testing.B) {
	eachBackendB(b, func(b *testing.B, dsn string) {
		s, _ := seeded(&testing.T{}, dsn)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.User(ctx, keyA); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkUpdateUser(b *testing.B) {
	eachBackendB(b, func(b *testing.B, dsn string) {
		s, _ := seeded(&testing.T{}, dsn)
		ctx := context.Background()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			email := fmt.Sprintf("u%d@example.com", i)
			if _, err := s.UpdateUser(ctx, keyA, flexapi.UserUpdate{Email: &email}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkCredential(b *testing.B) {
	eachBackendB(b, func(b *testing.B, dsn string) {
		s, _ := seeded(&testing.T{}, dsn)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			c, err := s.Credential(ctx, accountA)
			if err != nil || !c.Verify("token"+accountA) {
				b.Fatal(err)
			}
		}
	})
}
