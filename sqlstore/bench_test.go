package sqlstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/flexapi/flexapi"
	"github.com/flexapi/flexapi/internal/pgtest"
)

// The raw store operations under the HTTP layer: BenchmarkFetch and
// BenchmarkUpdate in package api minus these is the HTTP layer's own cost.

func BenchmarkUser(b *testing.B) {
	pgtest.EachStore(b, func(b *testing.B, dsn string) {
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
	pgtest.EachStore(b, func(b *testing.B, dsn string) {
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
	pgtest.EachStore(b, func(b *testing.B, dsn string) {
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

// BenchmarkUserConcurrent is 16 readers a CPU of random users among 10,000
// at once, as a server under load asks: the reads share batched queries, so
// the time per read is well below BenchmarkUser's.
func BenchmarkUserConcurrent(b *testing.B) {
	pgtest.EachStore(b, func(b *testing.B, dsn string) {
		s, _ := seeded(&testing.T{}, dsn)
		ctx := context.Background()
		in := flexapi.Instance{SID: instance, AccountSID: accountA}
		users := make([]flexapi.User, 10_000)
		for i := range users {
			users[i].FlexUserSID = fmt.Sprintf("FU%032x", i+1000)
		}
		if _, err := s.UpsertUsers(ctx, in, users); err != nil {
			b.Fatal(err)
		}
		b.SetParallelism(16)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				key := flexapi.UserKey{AccountSID: accountA, InstanceSID: instance,
					FlexUserSID: users[rand.IntN(len(users))].FlexUserSID}
				if _, err := s.User(ctx, key); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
