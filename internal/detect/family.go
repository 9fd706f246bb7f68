package detect

import "time"

// family is one rule family's bookkeeping: how its state is made, aged and
// counted. Each family registers itself from its own file
// (registerFamily, in an init function), and New, housekeep and Stats go
// through the registry: a new family adds its file and its calls in
// Packet, Event or FlowEnd (where the order of the families matters), not
// entries in lists here. A nil function is skipped.
type family struct {
	name   string
	init   func(*Detector)
	expire func(*Detector, time.Time)
	stats  func(*Detector, map[string]uint64)
}

var families []family

func registerFamily(f family) { families = append(families, f) }
