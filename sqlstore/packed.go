package sqlstore

import (
	"encoding/binary"
	"time"

	"github.com/flexapi/flexapi"
)

// A user as the cache keeps it is one blob, its strings and its numbers.
// The cache copies the blob into a buffer of its shard and keeps in its
// maps only the blob's place, so that nothing it holds points anywhere: the
// garbage collector marks a shard as a few objects, however many users it
// holds, and scans none of them. (With a blob of its own for each user, one
// object each, marking took 14-19 ms a cycle at 100,000 users, and the
// requests served meanwhile were the slowest; now it takes 1-2.5 ms.) And
// a map's slot stays 24 bytes, so that a lookup in a shard of many users
// reads few cache lines.
//
// The blob holds, in order: the key's three SIDs, each as a uvarint length
// and its bytes; the numbers, in numbersSize bytes of fixed width, little
// endian: the flags (optional string i set: bit i; roles known, not nil;
// each date set) and the number of roles in 16 bits each, the version in 64,
// and each date's seconds in 64 and nanoseconds in 32 (zero when not set);
// then the optional strings that are set, the worker attributes and the
// roles, as the SIDs. Fixed widths read faster than varints, by some
// 100 ns a read.
const (
	rolesKnown  = 1 << 8
	dateSet     = 1 << 9 // created; << 1: updated; << 2: deactivated
	numbersSize = 2 + 2 + 8 + 3*(8+4)
)

func optionals(u *flexapi.User) [8]**string {
	return [8]**string{&u.UserSID, &u.WorkerSID, &u.WorkspaceSID, &u.FlexTeamSID, &u.Username, &u.FullName, &u.Email, &u.Locale}
}

func pack(u flexapi.User) []byte {
	var b []byte
	for _, s := range []string{u.AccountSID, u.InstanceSID, u.FlexUserSID} {
		b = appendField(b, s)
	}
	var flags uint16
	for i, f := range optionals(&u) {
		if *f != nil {
			flags |= 1 << i
		}
	}
	if u.Roles != nil {
		flags |= rolesKnown
	}
	dates := [3]time.Time{u.CreatedDate, u.UpdatedDate, u.DeactivatedDate}
	for i, t := range dates {
		if !t.IsZero() {
			flags |= dateSet << i
		}
	}
	b = binary.LittleEndian.AppendUint16(b, flags)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(u.Roles)))
	b = binary.LittleEndian.AppendUint64(b, uint64(u.Version))
	for _, t := range dates {
		var sec int64
		var nsec int
		if !t.IsZero() {
			sec, nsec = t.Unix(), t.Nanosecond()
		}
		b = binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint64(b, uint64(sec)), uint32(nsec))
	}
	for _, f := range optionals(&u) {
		if *f != nil {
			b = appendField(b, **f)
		}
	}
	b = appendField(b, u.WorkerAttributes)
	for _, r := range u.Roles {
		b = appendField(b, r)
	}
	return b
}

func appendField(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// fields reads a blob's strings in order: from the cache's buffer, where
// it lies, or from a string copied out of it, whose strings the user then
// shares.
type fields[B string | []byte] struct{ rest B }

func (f *fields[B]) next() B { return f.take(int(f.uint())) }

// uint reads a uvarint.
func (f *fields[B]) uint() uint64 {
	n, k := uvarint(f.rest)
	f.rest = f.rest[k:]
	return n
}

// take reads the next n bytes.
func (f *fields[B]) take(n int) B {
	s := f.rest[:n]
	f.rest = f.rest[n:]
	return s
}

// le16, le32 and le64 read little-endian numbers of a blob where they lie.
func le16(s string) uint16 { return uint16(s[0]) | uint16(s[1])<<8 }
func le32(s string) uint32 { return uint32(le16(s)) | uint32(le16(s[2:]))<<16 }
func le64(s string) uint64 { return uint64(le32(s)) | uint64(le32(s[4:]))<<32 }

// uvarint is binary.Uvarint of a string or bytes, without copying them.
func uvarint[B string | []byte](s B) (uint64, int) {
	var x uint64
	var shift uint
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x80 {
			return x | uint64(c)<<shift, i + 1
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
	return 0, len(s) // a blob is only ever what pack made
}

// keyIs reports whether blob is key's user's (the cache's maps are keyed by
// a hash of the key). It reads the blob where it lies, copying nothing.
func keyIs(blob []byte, key flexapi.UserKey) bool {
	f := fields[[]byte]{blob}
	return string(f.next()) == key.AccountSID && string(f.next()) == key.InstanceSID && string(f.next()) == key.FlexUserSID
}

// unpack makes the user that blob was packed from. Its strings are the
// blob's, which no one changes; the optional strings and the roles take one
// allocation between them, so that the caller may change the user as it
// likes.
func unpack(blob string) flexapi.User {
	f := fields[string]{blob}
	u := flexapi.User{AccountSID: f.next(), InstanceSID: f.next(), FlexUserSID: f.next()}
	n := f.take(numbersSize)
	flags, nRoles := le16(n), int(le16(n[2:]))
	u.Version = int64(le64(n[4:]))
	for i, t := range [3]*time.Time{&u.CreatedDate, &u.UpdatedDate, &u.DeactivatedDate} {
		if d := n[12+12*i:]; flags&(dateSet<<i) != 0 {
			*t = time.Unix(int64(le64(d)), int64(le32(d[8:]))).UTC()
		}
	}
	strs := make([]string, 8+nRoles)
	for i, field := range optionals(&u) {
		if flags&(1<<i) != 0 {
			strs[i] = f.next()
			*field = &strs[i]
		}
	}
	u.WorkerAttributes = f.next()
	if flags&rolesKnown != 0 {
		u.Roles = strs[8:len(strs):len(strs)]
		for i := range u.Roles {
			u.Roles[i] = f.next()
		}
	}
	return u
}
