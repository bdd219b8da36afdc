package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
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
	file := []byte(cpuinfo)
	field := func(key string) string {
		value, _ := procField(file, key) // the first processor's: the others repeat it
		return value
	}
	s := field("model name")
	if s == "" {
		s = "an unnamed processor"
	}
	if family, model := field("cpu family"), field("model"); family != "" && model != "" {
		s += fmt.Sprintf(" (family %s model %s)", family, model)
	}
	if mhz, err := strconv.ParseFloat(field("cpu MHz"), 64); err == nil && mhz > 0 {
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

// runTime is when a table was made, in UTC to the minute, for the header of
// bench's and bench ab's tables, above the machine's line.
func runTime() string { return time.Now().UTC().Format("2006-01-02 15:04") }
