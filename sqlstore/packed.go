package sqlstore

import (
	"encoding/binary"
	"time"

	"github.com/flexapi/flexapi"
)

// packedUser is a user as the cache keeps it: every string in one blob,
// with the numbers beside it. The cache copies the blob into a buffer of its
// shard and keeps the numbers and the blob's place in its maps, so that
// nothing it holds points anywhere: the garbage collector marks a shard as a
// few objects, however many users it holds, and scans none of them. (With a
// blob of its own for each user, one object each, marking took 14-19 ms a
// cycle at 100,000 users, and the requests served meanwhile were the
// slowest; now it takes 1-2.5 ms.)
//
// blob holds, each as a uvarint length and its bytes: the key's three SIDs,
// the eight optional strings (present says which are set), the worker
// attributes, then the roles.
type packedUser struct {
	blob []byte
	packedFields
}

// packedFields are a packed user's numbers.
type packedFields struct {
	present uint16 // bit i: optional string i is set; bit 15: roles are known (not nil)
	nRoles  uint16
	dates   [3]packedTime // created, updated, deactivated
	version int64
}

type packedTime struct {
	sec  int64
	nsec int32
	set  bool // false: the zero time
}

const rolesKnown = 1 << 15

func optionals(u *flexapi.User) [8]**string {
	return [8]**string{&u.UserSID, &u.WorkerSID, &u.WorkspaceSID, &u.FlexTeamSID, &u.Username, &u.FullName, &u.Email, &u.Locale}
}

func pack(u flexapi.User) packedUser {
	p := packedUser{packedFields: packedFields{version: u.Version, nRoles: uint16(len(u.Roles))}}
	var b []byte
	for _, s := range []string{u.AccountSID, u.InstanceSID, u.FlexUserSID} {
		b = appendField(b, s)
	}
	for i, f := range optionals(&u) {
		if *f != nil {
			p.present |= 1 << i
			b = appendField(b, **f)
		}
	}
	b = appendField(b, u.WorkerAttributes)
	if u.Roles != nil {
		p.present |= rolesKnown
	}
	for _, r := range u.Roles {
		b = appendField(b, r)
	}
	for i, t := range []time.Time{u.CreatedDate, u.UpdatedDate, u.DeactivatedDate} {
		if !t.IsZero() {
			p.dates[i] = packedTime{sec: t.Unix(), nsec: int32(t.Nanosecond()), set: true}
		}
	}
	p.blob = b
	return p
}

func appendField(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// fields reads a blob's strings in order: from the cache's buffer, where
// it lies, or from a string copied out of it, whose strings the user then
// shares.
type fields[B string | []byte] struct{ rest B }

func (f *fields[B]) next() B {
	n, k := uvarint(f.rest)
	s := f.rest[k : k+int(n)]
	f.rest = f.rest[k+int(n):]
	return s
}

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

// unpack makes the user that blob and p were packed from. Its strings are
// the blob's, which no one changes; the optional strings and the roles take
// one allocation between them, so that the caller may change the user as it
// likes.
func unpack(blob string, p packedFields) flexapi.User {
	f := fields[string]{blob}
	u := flexapi.User{AccountSID: f.next(), InstanceSID: f.next(), FlexUserSID: f.next(), Version: p.version}
	strs := make([]string, 8+int(p.nRoles))
	for i, field := range optionals(&u) {
		if p.present&(1<<i) != 0 {
			strs[i] = f.next()
			*field = &strs[i]
		}
	}
	u.WorkerAttributes = f.next()
	if p.present&rolesKnown != 0 {
		u.Roles = strs[8:len(strs):len(strs)]
		for i := range u.Roles {
			u.Roles[i] = f.next()
		}
	}
	for i, t := range []*time.Time{&u.CreatedDate, &u.UpdatedDate, &u.DeactivatedDate} {
		if d := p.dates[i]; d.set {
			*t = time.Unix(d.sec, int64(d.nsec)).UTC()
		}
	}
	return u
}
