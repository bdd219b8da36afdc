package main

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// damonTree lays out, under a temporary root, the sysfs files of one
// kdamond with one context and one scheme, as Linux 6.18 shows them.
func damonTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, value := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(value+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// The reclaim that the machines of 2026-12-07 and 12-08 ran: file pages
// not read for twelve aggregation intervals of 5 s go, the heap stays.
var proactiveReclaim = map[string]string{
	"0/state": "on",
	"0/contexts/0/monitoring_attrs/intervals/aggr_us": "5000000",
	"0/contexts/0/schemes/0/action":                   "pageout",
	"0/contexts/0/schemes/0/access_pattern/age/min":   "12",
	"0/contexts/0/schemes/0/ops_filters/0/type":       "anon",
	"0/contexts/0/schemes/0/ops_filters/0/matching":   "Y",
	"0/contexts/0/schemes/0/ops_filters/0/allow":      "N",
	"0/contexts/0/schemes/0/ops_filters/1/type":       "unmapped",
	"0/contexts/0/schemes/0/ops_filters/1/matching":   "Y",
	"0/contexts/0/schemes/0/ops_filters/1/allow":      "Y",
}

func TestPageoutSchemes(t *testing.T) {
	with := func(changes map[string]string) map[string]string {
		files := maps.Clone(proactiveReclaim)
		maps.Copy(files, changes)
		return files
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"proactive reclaim", proactiveReclaim, []string{"kdamond 0 pages out memory not accessed for 1m0s, anonymous memory spared"}},
		{"kdamond off", with(map[string]string{"0/state": "off"}), nil},
		{"another action", with(map[string]string{"0/contexts/0/schemes/0/action": "stat"}), nil},
		{"anonymous memory allowed", with(map[string]string{"0/contexts/0/schemes/0/ops_filters/0/allow": "Y"}),
			[]string{"kdamond 0 pages out memory not accessed for 1m0s"}},
		{"a filter of a kernel before allow", with(map[string]string{
			"0/contexts/0/schemes/0/ops_filters/0/type": "memcg",
			"0/contexts/0/schemes/0/filters/0/type":     "anon",
			"0/contexts/0/schemes/0/filters/0/matching": "Y",
		}), []string{"kdamond 0 pages out memory not accessed for 1m0s, anonymous memory spared"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := pageoutSchemes(damonTree(t, tc.files))
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("pageoutSchemes = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestReclaimNote(t *testing.T) {
	if got := reclaimNote(filepath.Join(t.TempDir(), "absent")); !strings.Contains(got, "no DAMON daemons") {
		t.Errorf("without DAMON: %q", got)
	}
	if got := reclaimNote(damonTree(t, map[string]string{"0/state": "off"})); !strings.Contains(got, "no DAMON scheme") {
		t.Errorf("with DAMON off: %q", got)
	}
	if got := reclaimNote(damonTree(t, proactiveReclaim)); !strings.Contains(got, "DAMON is on (kdamond 0 pages out memory not accessed for 1m0s") {
		t.Errorf("with proactive reclaim: %q", got)
	}
}
