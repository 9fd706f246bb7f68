package proto

// DefaultMemcap is the Budget's limit when none is configured: at the
// flow table's default bound a flood of flows each holding a partial
// request and out-of-order data could otherwise hold gigabytes.
const DefaultMemcap = 32 << 20

// Budget bounds the stream bytes that all the States sharing it hold for
// reassembly: bytes a parser has not consumed yet and segments waiting
// beyond a gap, like Suricata's stream.reassembly.memcap. When it is full a
// direction that needs more is given up (closed, as after too many
// out-of-order segments), never parsed with a hole in it, and counted. A nil
// Budget holds no limit and counts nothing. It is not safe for concurrent
// use: the engine that owns the States owns it.
type Budget struct {
	Limit int64 // bytes; 0 = DefaultMemcap

	used, peak int64
	memcap     uint64 // directions given up because the budget was full
	gaps       uint64 // gaps: directions given up, or skipped by a streaming parser
	txcap      uint64 // flows no longer parsed past maxTxPerFlow transactions
}

// BudgetStats are a Budget's counters, for the EVE stats record and the
// console.
type BudgetStats struct {
	Memuse, Peak, Limit int64
	MemcapDrops         uint64 // directions given up because the budget was full
	GapDrops            uint64 // gaps: directions given up past the segment bounds, or skipped by HTTP and DNS
	TxCapDrops          uint64 // flows whose parsing stopped at the per-flow transaction cap
}

func (b *Budget) limit() int64 {
	if b.Limit <= 0 {
		return DefaultMemcap
	}
	return b.Limit
}

func (b *Budget) room(n int64) bool { return b == nil || b.used+n <= b.limit() }

func (b *Budget) add(n int64) {
	if b == nil {
		return
	}
	b.used += n
	b.peak = max(b.peak, b.used)
}

func (b *Budget) gave(memcap bool) {
	if b == nil {
		return
	}
	if memcap {
		b.memcap++
	} else {
		b.gaps++
	}
}

func (b *Budget) capped() {
	if b != nil {
		b.txcap++
	}
}

// Stats returns the counters.
func (b *Budget) Stats() BudgetStats {
	if b == nil {
		return BudgetStats{}
	}
	return BudgetStats{Memuse: b.used, Peak: b.peak, Limit: b.limit(), MemcapDrops: b.memcap, GapDrops: b.gaps, TxCapDrops: b.txcap}
}
