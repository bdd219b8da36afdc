package control

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flexapi/flexapi/api"
)

func TestJournalIsBoundedAndFiltered(t *testing.T) {
	j := NewJournal(5)
	start := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	a, b := "AC1", "AC2"
	for i := range 8 {
		acct := &a
		if i%2 == 1 {
			acct = &b
		}
		j.Record(api.Entry{RequestID: fmt.Sprint(i), Time: start.Add(time.Duration(i) * time.Second), Method: "GET",
			Path: fmt.Sprintf("/v2/Instances/GO%d/Users/FU%d", i, i), Status: 200 + i%2*204, AccountSID: acct,
			Params: map[string]any{"Email": "x", "AuthToken": "s3cret", "client_secret": "s3cret"}})
	}
	ids := func(es []api.Entry) string {
		var s []string
		for _, e := range es {
			s = append(s, e.RequestID)
		}
		return strings.Join(s, ",")
	}
	for name, tt := range map[string]struct {
		f    Filter
		want string
	}{
		"all, oldest first, the last five": {Filter{}, "3,4,5,6,7"},
		"account":                          {Filter{AccountSID: "AC2"}, "3,5,7"},
		"status":                           {Filter{Status: 200}, "4,6"},
		"path with stars":                  {Filter{Path: "/v2/Instances/*/Users/FU5"}, "5"},
		"a star stays in its segment":      {Filter{Path: "/v2/*/FU5"}, ""},
		"a star within a segment":          {Filter{Path: "/v2/Instances/GO*/Users/F*6"}, "6"},
		"since":                            {Filter{Since: start.Add(6 * time.Second)}, "6,7"},
		"limit takes the newest":           {Filter{Limit: 2}, "6,7"},
		"method in another case":           {Filter{Method: "get", Limit: 1}, "7"},
	} {
		if got := ids(j.Entries(tt.f)); got != tt.want {
			t.Errorf("%s: %s; want %s", name, got, tt.want)
		}
	}
	e := j.Entries(Filter{Limit: 1})[0]
	if e.Params["Email"] != "x" || e.Params["AuthToken"] == "s3cret" || e.Params["client_secret"] == "s3cret" {
		t.Errorf("params %v; want secrets masked and the rest kept", e.Params)
	}
	j.Clear()
	if len(j.Entries(Filter{})) != 0 {
		t.Error("Clear left entries")
	}
}

func TestFaultRules(t *testing.T) {
	two, zero, half, tooMuch := 2, 0, 0.5, 1.5
	for name, r := range map[string]Rule{
		"nothing to do":    {},
		"status and drop":  {Status: 500, Drop: true},
		"not an error":     {Status: 200},
		"negative delay":   {DelayMS: -1},
		"times zero":       {Status: 500, Times: &zero},
		"probability 1.5":  {Status: 500, Probability: &tooMuch},
		"a malformed SID":  {Status: 500, AccountSID: "AC1"},
		"a delay too long": {DelayMS: 600_001},
	} {
		if err := r.check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	r := Rule{Status: 503, Times: &two, Method: "get", Path: "/v2/*", Probability: &half}
	if err := r.check(); err != nil || r.Code != 20503 || r.Message != "Service Unavailable" || r.Method != "GET" {
		t.Fatalf("check: %+v %v", r, err)
	}
	var f Faults
	one := Rule{Status: 429, Times: &two}
	one.check()
	added := f.Add(one)
	for i := range 2 {
		if got, ok := f.Match("POST", "/v1/Configuration", "AC1"); !ok || got.ID != added.ID || got.Code != 20429 {
			t.Fatalf("match %d: %+v %v", i, got, ok)
		}
	}
	if _, ok := f.Match("POST", "/v1/Configuration", "AC1"); ok || len(f.Rules()) != 0 {
		t.Errorf("a rule of two times matched a third time, or stayed: %+v", f.Rules())
	}
	path := Rule{Status: 500, Path: "/v4/Instances/*/Users/Provision", AccountSID: "AC" + strings.Repeat("a", 32)}
	path.check()
	f.Add(path)
	if _, ok := f.Match("POST", "/v4/Instances/GO1/Users/Provision", "AC"+strings.Repeat("b", 32)); ok {
		t.Error("a rule for another account matched")
	}
	if _, ok := f.Match("POST", "/v4/Instances/GO1/Users/Provision", "AC"+strings.Repeat("a", 32)); !ok {
		t.Error("the rule did not match its account and path")
	}
}
