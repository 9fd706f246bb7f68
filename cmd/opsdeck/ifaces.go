package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/textsafe"
)

// captureIface is one entry of opsdeck -D.
type captureIface struct {
	name        string
	description string
	up, running bool
	loopback    bool
	// connected is "Connected", "Disconnected" or "" (unknown or not
	// applicable), as tcpdump -D shows it.
	connected string
}

// captureIfaces lists the interfaces opsdeck can capture on, in the order
// and with the numbers tcpdump -D gives them, so that "-i 2" means the
// same interface to both. libpcap (pcap.c, get_figure_of_merit) sorts the
// devices it finds, stably, by: running before not running, up before
// down, connected before disconnected, other devices before loopback ones,
// and the "any" pseudo-device after the others that are up and running
// but before loopback; ties keep the kernel's order (interface index).
// tcpdump also lists devices opsdeck cannot capture on (nflog, dbus,
// bluetooth-monitor); libpcap gives them no "up" flag, so they come after
// every interface that is up, and the numbers of those agree.
func captureIfaces() ([]captureIface, error) {
	nis, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	out := make([]captureIface, 0, len(nis)+1)
	for _, ni := range nis {
		ci := captureIface{
			name:     ni.Name,
			up:       ni.Flags&net.FlagUp != 0,
			running:  ni.Flags&net.FlagRunning != 0,
			loopback: ni.Flags&net.FlagLoopback != 0,
		}
		if !ci.loopback {
			ci.connected = carrier(ni.Name)
		}
		out = append(out, ci)
	}
	out = append(out, captureIface{name: "any", description: "Pseudo-device that captures on all interfaces", up: true, running: true})
	slices.SortStableFunc(out, func(a, b captureIface) int { return int(a.merit()) - int(b.merit()) })
	return out, nil
}

// merit is libpcap's figure of merit: lower is listed first.
func (c captureIface) merit() int64 {
	var n int64
	if !c.running {
		n |= 0x80000000
	}
	if !c.up {
		n |= 0x40000000
	}
	if c.connected == "Disconnected" {
		n |= 0x20000000
	}
	if c.loopback {
		n |= 0x10000000
	}
	if c.name == "any" {
		n |= 0x08000000
	}
	return n
}

// carrier reads the link state the kernel reports for an interface that
// is up; "" when it cannot tell (the interface is down).
func carrier(name string) string {
	b, err := os.ReadFile("/sys/class/net/" + name + "/carrier")
	if err != nil {
		return ""
	}
	switch strings.TrimSpace(string(b)) {
	case "1":
		return "Connected"
	case "0":
		return "Disconnected"
	}
	return ""
}

// flags is the bracketed list tcpdump -D prints after a device.
func (c captureIface) flags() string {
	var f []string
	if c.up {
		f = append(f, "Up")
	}
	if c.running {
		f = append(f, "Running")
	}
	if c.connected != "" {
		f = append(f, c.connected)
	}
	if c.loopback {
		f = append(f, "Loopback")
	}
	if len(f) == 0 {
		return "[none]"
	}
	return "[" + strings.Join(f, ", ") + "]"
}

// listInterfaces prints the capture interfaces as tcpdump -D does.
func listInterfaces(w io.Writer) error {
	ifs, err := captureIfaces()
	if err != nil {
		return err
	}
	for i, c := range ifs {
		desc := ""
		if c.description != "" {
			desc = " (" + c.description + ")"
		}
		// Interface names come from the kernel and may hold any byte
		// but '/' and NUL: printed through textsafe.
		fmt.Fprintf(w, "%d.%s%s %s\n", i+1, textsafe.Label(c.name, 64), desc, c.flags())
	}
	return nil
}

// ifaceList is the repeatable -i flag. As tcpdump, a number that is not
// the name of an interface is the interface of that number in opsdeck -D.
type ifaceList []string

func (s *ifaceList) String() string { return strings.Join(*s, ",") }

func (s *ifaceList) Set(v string) error {
	name, err := resolveIface(v)
	if err != nil {
		return err
	}
	*s = append(*s, name)
	return nil
}

func resolveIface(v string) (string, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return v, nil
	}
	if _, err := net.InterfaceByName(v); err == nil {
		return v, nil // an interface named "1"
	}
	ifs, err := captureIfaces()
	if err != nil {
		return "", err
	}
	if n < 1 || n > len(ifs) {
		return "", fmt.Errorf("interface number %d out of range: opsdeck -D lists %d (1 to %d)", n, len(ifs), len(ifs))
	}
	return ifs[n-1].name, nil
}
