package main

import "testing"

// An excerpt of /proc/cpuinfo as a 2-core AMD EPYC virtual machine shows it:
// two processor blocks, the second one clocked differently so that a parser
// reading past the first block would be caught.
const epycCPUInfo = `processor	: 0
vendor_id	: AuthenticAMD
cpu family	: 26
model		: 2
model name	: AMD EPYC
stepping	: 1
cpu MHz		: 2096.026
flags		: fpu vme de pse tsc msr

processor	: 1
vendor_id	: AuthenticAMD
cpu family	: 25
model		: 17
model name	: Another EPYC
cpu MHz		: 3000.000
`

func TestMachineLine(t *testing.T) {
	cases := []struct {
		name, cpuinfo, clocksource, want string
	}{
		{"first processor and clocksource", epycCPUInfo, "kvm-clock",
			"machine: AMD EPYC (family 26 model 2) at 2.1 GHz, clocksource kvm-clock"},
		{"no clocksource file", epycCPUInfo, "",
			"machine: AMD EPYC (family 26 model 2) at 2.1 GHz"},
		{"no family, model or clock (an ARM machine's cpuinfo)", "processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\n", "arch_sys_counter",
			"machine: an unnamed processor, clocksource arch_sys_counter"},
		{"nothing readable", "", "",
			"machine: an unnamed processor"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := machineLine(c.cpuinfo, c.clocksource); got != c.want {
				t.Errorf("machineLine = %q, want %q", got, c.want)
			}
		})
	}
}
