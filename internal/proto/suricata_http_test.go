package proto

import "testing"

// TestHTTPHostAsSuricata: an IPv6 literal Host keeps its brackets, as
// libhtp keeps them in Suricata's http.hostname; the port is split off.
func TestHTTPHostAsSuricata(t *testing.T) {
	for _, c := range []struct {
		in   string
		host string
		port uint16
	}{
		{"[::1]", "[::1]", 0}, {"[::1]:8080", "[::1]", 8080}, {"[fe80::1]:x", "[fe80::1]", 0},
		{"example.com:81", "example.com", 81}, {"example.com", "example.com", 0},
		{"fe80::1", "fe80::1", 0}, {"[::1", "[::1", 0}, {"h:99999", "h:99999", 0},
	} {
		if h, p := splitHostPort(c.in); h != c.host || p != c.port {
			t.Errorf("splitHostPort(%q) = %q, %d; want %q, %d", c.in, h, p, c.host, c.port)
		}
	}
	evs := runStream(&State{}, &Config{}, stream(40000, 80, []seg{{true, "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"}}))
	if len(evs) != 1 || evs[0].HTTP == nil || evs[0].HTTP.Hostname != "[::1]" || evs[0].HTTP.Port != 8080 || evs[0].HTTP.Length != 0 {
		t.Fatalf("events %+v", evs)
	}
}
