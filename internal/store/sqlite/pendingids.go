package sqlite

import "math/rand/v2"

// pendingIDSet finds the seq of a pending event by its ID's hash
// (idHash), in generations that the indexer drops whole once all their
// events are indexed (see indexed).
//
// It is keyed by the 64-bit hash, not by the account and ID strings, and
// held in open-addressed tables of its own rather than Go maps: the writer
// adds every event's ID and looks up every event of a batch here, and with
// a few hundred thousand to millions of IDs pending, each map probe cost
// several cache misses (the map's directory, table and group): ~5 % of the
// server's CPU during a 10M-event import, against one miss a probe here.
// Two IDs may share a hash: a hash found is a candidate whose event the
// caller reads and compares (findExisting, lookupID), and every seq added
// with a hash is kept, so that no pending ID is ever lost.
type pendingIDSet struct {
	cur, old pendingGen
}

// pendingGen is one generation of pending IDs: tables that only grow (a
// full one is followed by one twice its size rather than rehashed, so no
// add stalls the readers waiting on idMu), and the highest seq in them.
type pendingGen struct {
	tables []*idTable
	last   int64
}

func newPendingIDSet() *pendingIDSet {
	return &pendingIDSet{cur: pendingGen{tables: []*idTable{newIDTable(0)}}}
}

// get appends to out the seqs of the pending (or just indexed) events whose
// IDs have hash h: those of the ID sought, if pending, and of any ID that
// shares its hash.
func (p *pendingIDSet) get(h int64, out []int64) []int64 {
	return p.old.get(h, p.cur.get(h, out))
}

func (g *pendingGen) get(h int64, out []int64) []int64 {
	for _, t := range g.tables {
		out = t.get(h, out)
	}
	return out
}

// add records a pending event's ID hash; seqs (at least 1) come in
// increasing order. A full table is followed by a new one here only if
// the writer did not reserve one.
func (p *pendingIDSet) add(h, seq int64) {
	g := &p.cur
	t := g.tables[len(g.tables)-1]
	if t.full() {
		t = newIDTable(2 * t.n)
		g.tables = append(g.tables, t)
	}
	t.add(h, seq)
	g.last = seq
}

// grows returns how many IDs the table the current generation needs next
// should be made for, before n more IDs are added, or 0 if its newest
// table has room for them. The writer makes that table without holding
// idMu (a table of millions of slots takes milliseconds to make, which
// every lookup by eventID would wait for) and hands it to reserve.
func (p *pendingIDSet) grows(n int) int {
	t := p.cur.tables[len(p.cur.tables)-1]
	if 2*(t.n+n) <= len(t.slots) {
		return 0
	}
	return max(2*t.n, n)
}

// reserve makes t, made for grows(n), the current generation's newest
// table if that one still has no room for n more IDs (the indexer may
// have started a new generation meanwhile).
func (p *pendingIDSet) reserve(t *idTable, n int) {
	g := &p.cur
	if cur := g.tables[len(g.tables)-1]; 2*(cur.n+n) > len(cur.slots) {
		g.tables = append(g.tables, t)
	}
}

// indexed drops what it can once events through seq through are indexed:
// the old generation if all of it is, and the current one too if all of
// it is; else the current generation becomes the old one. fresh becomes
// the current generation's table when one is dropped: the caller makes it
// before it takes its locks, sized for as many IDs as the current one
// holds (newIDTable). It returns the number of IDs of the generation
// dropped or retired, for the next fresh table's size.
func (p *pendingIDSet) indexed(through int64, fresh *idTable) int {
	if p.old.tables != nil && p.old.last > through {
		return 0
	}
	n := p.cur.len()
	if p.cur.last <= through {
		p.cur, p.old = pendingGen{tables: []*idTable{fresh}}, pendingGen{}
		return n
	}
	p.old, p.cur = p.cur, pendingGen{tables: []*idTable{fresh}}
	return n
}

func (g *pendingGen) len() int {
	n := 0
	for _, t := range g.tables {
		n += t.n
	}
	return n
}

// each calls f with the hash of every ID held.
func (p *pendingIDSet) each(f func(h int64)) {
	for _, g := range []*pendingGen{&p.cur, &p.old} {
		for _, t := range g.tables {
			for _, sl := range t.slots {
				if sl.seq != 0 {
					f(sl.h)
				}
			}
		}
	}
}

// idTable is a multimap from ID hash to seq: linear probing in a power-of-
// two table at most half full, never deleted from. Slots are placed by the
// hash mixed with a random seed: the hashes themselves are unseeded
// (store.HashPair), and a tenant could otherwise choose eventIDs that all
// probe from one slot.
type idTable struct {
	slots []idSlot
	n     int
	seed  uint64
}

// idSlot is one entry; seq 0 marks it empty (seqs start at 1).
type idSlot struct{ h, seq int64 }

// newIDTable makes a table for n IDs (at least 1,024).
func newIDTable(n int) *idTable {
	size := 2048
	for size < 2*n {
		size *= 2
	}
	return &idTable{slots: make([]idSlot, size), seed: rand.Uint64()}
}

func (t *idTable) full() bool { return 2*(t.n+1) > len(t.slots) }

func (t *idTable) start(h int64) uint64 {
	// The finalizer of MurmurHash3: every bit of the seeded hash moves
	// the slot.
	x := uint64(h) ^ t.seed
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x & uint64(len(t.slots)-1)
}

func (t *idTable) add(h, seq int64) {
	mask := uint64(len(t.slots) - 1)
	i := t.start(h)
	for t.slots[i].seq != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = idSlot{h, seq}
	t.n++
}

func (t *idTable) get(h int64, out []int64) []int64 {
	mask := uint64(len(t.slots) - 1)
	for i := t.start(h); t.slots[i].seq != 0; i = (i + 1) & mask {
		if t.slots[i].h == h {
			out = append(out, t.slots[i].seq)
		}
	}
	return out
}
