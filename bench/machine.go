package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Where Linux names the processor and the clock that time.Now reads.
const (
	cpuinfoPath    = "/proc/cpuinfo"
	clocksourceDir = "/sys/devices/system/clocksource/clocksource0"
)

// machineLine names the machine a run measured, for the header of its
// table. The same build's ratios differ from one processor model to the
// next (the README's runs show it), and the cost of reading the clock with
// the clock source, so a table is only read right beside its machine.
func machineLine(cpuinfo, clocksource string) string {
	line := "machine: " + describeProcessor(cpuinfo)
	if clocksource != "" {
		line += ", clocksource " + clocksource
	}
	return line
}

// describeProcessor is the first processor of a /proc/cpuinfo text, as its
// model name, family and model, and clock: "AMD EPYC (family 26 model 2) at
// 2.1 GHz".
func describeProcessor(cpuinfo string) string {
	fields := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(cpuinfo))
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" && len(fields) > 0 {
			break // the first processor's block ends: the others repeat it
		}
		if key, value, ok := strings.Cut(sc.Text(), ":"); ok {
			fields[strings.TrimSpace(key)] = strings.TrimSpace(value)
		}
	}
	s := fields["model name"]
	if s == "" {
		s = "an unnamed processor"
	}
	if family, model := fields["cpu family"], fields["model"]; family != "" && model != "" {
		s += fmt.Sprintf(" (family %s model %s)", family, model)
	}
	if mhz, err := strconv.ParseFloat(fields["cpu MHz"], 64); err == nil && mhz > 0 {
		s += fmt.Sprintf(" at %.1f GHz", mhz/1000)
	}
	return s
}

// thisMachine is machineLine for the machine the bench runs on; what it
// cannot read, it leaves out.
func thisMachine() string {
	cpuinfo, _ := os.ReadFile(cpuinfoPath)
	return machineLine(string(cpuinfo), sysfsValue(clocksourceDir, "current_clocksource"))
}
