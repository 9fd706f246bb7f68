package proto

// Sync tells a State created after the handshake where a direction's byte
// stream starts (the SYN's sequence number plus one), as if it had seen the
// SYN. The engine creates parser state only at a flow's first payload, so a
// flood of bare SYNs costs no parser memory, and calls Sync with the
// sequence numbers the flow table kept.
func (st *State) Sync(toServer bool, next uint32) {
	d := 1
	if toServer {
		d = 0
	}
	st.halves()
	st.h[d].next, st.h[d].synced, st.h[d].syn, st.h[d].seen = next, true, true, true
}
