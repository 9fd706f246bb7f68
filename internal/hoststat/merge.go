package hoststat

import "maps"

// MergeSockets is the one place that decides how a socket-only refresh is
// kept: refresh (Partial, from the sampler's SampleSockets) laid over the
// last full sample, so whoever reads the result sees a whole host with the
// refresh's time, sockets, addresses and owners. The result stays Partial:
// everything but the sockets repeats the full sample, and every consumer
// that needs a new full sample (histories, rates, the ops rules that read
// CPU or memory, metrics, host events) skips it by that one flag, as it
// skips the refresh itself. It returns nil when there is no full sample yet
// and refresh unchanged when it is not Partial.
func MergeSockets(full, refresh *Snapshot) *Snapshot {
	if refresh == nil || !refresh.Partial {
		return refresh
	}
	if full == nil {
		return nil
	}
	m := *full
	m.Time, m.Partial = refresh.Time, true
	m.Sockets, m.SocketOwnersComplete, m.SocketsRepeated = refresh.Sockets, refresh.SocketOwnersComplete, false
	if refresh.LocalAddrs != nil {
		m.LocalAddrs = refresh.LocalAddrs
	}
	if len(refresh.Errors) > 0 {
		m.Errors = maps.Clone(full.Errors)
		if m.Errors == nil {
			m.Errors = map[string]string{}
		}
		maps.Copy(m.Errors, refresh.Errors)
	}
	return &m
}
