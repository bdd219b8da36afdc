package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// damonAdmin is where Linux shows its DAMON daemons (kdamonds) and what
// they do.
const damonAdmin = "/sys/kernel/mm/damon/admin/kdamonds"

// pageoutSchemes describes, one string each, the DAMON schemes running
// under root that page out memory left idle for a while. Such a scheme
// drops a file's cached pages a set time after their last read, however
// much memory is free, so a server that reads its database file from the
// system's memory reads it from the disk again after a pause: the bench
// prints them beside its disk-read column, which they explain.
func pageoutSchemes(root string) []string {
	var found []string
	schemes, _ := filepath.Glob(filepath.Join(root, "[0-9]*", "contexts", "[0-9]*", "schemes", "[0-9]*"))
	for _, scheme := range schemes {
		context := filepath.Dir(filepath.Dir(scheme))
		kdamond := filepath.Dir(filepath.Dir(context))
		if sysfsValue(kdamond, "state") != "on" || sysfsValue(scheme, "action") != "pageout" {
			continue
		}
		aggregation, err := strconv.ParseInt(sysfsValue(context, "monitoring_attrs/intervals/aggr_us"), 10, 64)
		if err != nil {
			continue
		}
		found = append(found, describeScheme(filepath.Base(kdamond), scheme, time.Duration(aggregation)*time.Microsecond))
	}
	return found
}

// describeScheme says what a pageout scheme takes: memory not accessed for
// its minimum age, counted in aggregation intervals, and whether anonymous
// memory (a process's heap, such as flexapi's cache) is spared.
func describeScheme(kdamond, scheme string, aggregation time.Duration) string {
	s := "kdamond " + kdamond + " pages out memory"
	if age, err := strconv.ParseInt(sysfsValue(scheme, "access_pattern/age/min"), 10, 64); err == nil {
		s += fmt.Sprintf(" not accessed for %v", time.Duration(age)*aggregation)
	}
	if sparesAnonymous(scheme) {
		s += ", anonymous memory spared"
	}
	return s
}

// sparesAnonymous tells whether one of the scheme's filters keeps its action
// off anonymous pages. Kernels before 6.14 list filters only under
// "filters", and a matching filter there always excludes; later ones add
// core_filters and ops_filters, whose "allow" says which way a filter goes.
func sparesAnonymous(scheme string) bool {
	filters, _ := filepath.Glob(filepath.Join(scheme, "*filters", "[0-9]*")) // filters, core_filters, ops_filters
	for _, f := range filters {
		allow := sysfsValue(f, "allow")
		if sysfsValue(f, "type") == "anon" && sysfsValue(f, "matching") == "Y" && (allow == "" || allow == "N") {
			return true
		}
	}
	return false
}

// sysfsValue is the content of the sysfs file dir/name without its newline,
// or "" when it cannot be read.
func sysfsValue(dir, name string) string {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// reclaimNote is the line the bench prints under its memory table.
func reclaimNote(root string) string {
	if _, err := os.Stat(root); err != nil {
		return "page reclaim: this kernel shows no DAMON daemons (" + root + ")"
	}
	schemes := pageoutSchemes(root)
	if len(schemes) == 0 {
		return "page reclaim: no DAMON scheme running here pages out idle memory"
	}
	return "page reclaim: DAMON is on (" + strings.Join(schemes, "; ") +
		"): a file's pages leave memory that long after their last read, and are read from the disk again"
}
