package sqlstore

import (
	"encoding/binary"
	"time"

	"github.com/flexapi/flexapi"
)

// packedUser is a user as the cache keeps it: every string in one, with the
// numbers beside it. The garbage collector follows one pointer for it, where
// a flexapi.User has some twenty objects to mark at every cycle, and it takes
// less than half the memory.
//
// blob holds, each as a uvarint length and its bytes: the key's three SIDs,
// the eight optional strings (present says which are set), the worker
// attributes, then the roles.
type packedUser struct {
	blob    string
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
	p := packedUser{version: u.Version, nRoles: uint16(len(u.Roles))}
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
	p.blob = string(b)
	return p
}

func appendField(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// fields reads the blob's strings in order.
type fields struct{ rest string }

func (f *fields) next() string {
	n, k := uvarint(f.rest)
	s := f.rest[k : k+int(n)]
	f.rest = f.rest[k+int(n):]
	return s
}

// uvarint is binary.Uvarint of a string, without copying it.
func uvarint(s string) (uint64, int) {
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

// is reports whether p is key's user (the cache's maps are keyed by a hash
// of the key).
func (p *packedUser) is(key flexapi.UserKey) bool {
	f := fields{p.blob}
	return f.next() == key.AccountSID && f.next() == key.InstanceSID && f.next() == key.FlexUserSID
}

// user unpacks p. Its strings are the blob's, which no one changes; the
// optional strings and the roles take one allocation between them, so that
// the caller may change the user as it likes.
func (p *packedUser) user() flexapi.User {
	f := fields{p.blob}
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
