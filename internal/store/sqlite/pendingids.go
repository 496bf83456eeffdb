package sqlite

// pendingIDSet finds the seq of a pending event by its ID's hash
// (idHash), in generations that the indexer drops whole once all their
// events are indexed (see indexed).
//
// It is keyed by the 64-bit hash, not by the account and ID strings: the
// writer adds every event's ID and looks up every event of a batch here,
// and string keys made those map probes ~4 % of the server's CPU. Two IDs
// may share a hash: a hash found is a candidate whose event the caller
// reads and compares (findExisting, lookupID), and the seqs of every ID
// with the hash are kept (more), so that no pending ID is ever lost.
type pendingIDSet struct {
	cur, old pendingGen
}

// pendingGen is one generation of pending IDs.
type pendingGen struct {
	seqs map[int64]int64
	// more holds the seqs after the first of a hash two pending IDs share.
	more map[int64][]int64
	last int64 // the highest seq in it
}

func newPendingIDSet() *pendingIDSet { return &pendingIDSet{cur: pendingGen{seqs: map[int64]int64{}}} }

// get appends to out the seqs of the pending (or just indexed) events whose
// IDs have hash h: those of the ID sought, if pending, and of any ID that
// shares its hash.
func (p *pendingIDSet) get(h int64, out []int64) []int64 {
	return p.old.get(h, p.cur.get(h, out))
}

func (g *pendingGen) get(h int64, out []int64) []int64 {
	if seq, ok := g.seqs[h]; ok {
		out = append(append(out, seq), g.more[h]...)
	}
	return out
}

// add records a pending event's ID hash; seqs come in increasing order,
// and an ID is added once while it is pending (a duplicate is found first).
func (p *pendingIDSet) add(h, seq int64) {
	g := &p.cur
	if _, taken := g.seqs[h]; taken {
		if g.more == nil {
			g.more = map[int64][]int64{}
		}
		g.more[h] = append(g.more[h], seq)
	} else {
		g.seqs[h] = seq
	}
	g.last = seq
}

// indexed drops what it can once events through seq through are indexed:
// the old generation if all of it is, and the current one too if all of
// it is; else the current generation becomes the old one. fresh becomes
// the current generation when one is dropped: the caller makes it before
// it takes its locks, sized like the current one (a map of 300,000 IDs
// made under the pending lock took 13 ms). It returns the size of the
// generation dropped or retired, for the next fresh map's size.
func (p *pendingIDSet) indexed(through int64, fresh map[int64]int64) int {
	if p.old.seqs != nil && p.old.last > through {
		return 0
	}
	n := len(p.cur.seqs)
	if p.cur.last <= through {
		p.cur, p.old = pendingGen{seqs: fresh}, pendingGen{}
		return n
	}
	p.old, p.cur = p.cur, pendingGen{seqs: fresh}
	return n
}

// each calls f with the hash of every ID held.
func (p *pendingIDSet) each(f func(h int64)) {
	for _, g := range []*pendingGen{&p.cur, &p.old} {
		for h := range g.seqs {
			f(h)
		}
	}
}
