package sqlite

// pendingIDSet maps the IDs of pending events (written to the log, not yet
// indexed) to their seqs, for the writer's duplicate check and lookups by
// eventID. It is kept in two generations, each dropped whole once every
// event in it is indexed: deleting a transaction's IDs one by one took the
// indexer ~13 ms of 64,000 map deletes under the pending lock, which every
// lookup and the writer wait for. An entry may so outlive its event's
// pending time (until the next transaction at most); its seq is then found
// in the index too, which readers allow for. The caller holds idMu.
type pendingIDSet struct {
	cur, old         map[idKey]int64
	curLast, oldLast int64 // the highest seq in each
}

func newPendingIDSet() *pendingIDSet { return &pendingIDSet{cur: map[idKey]int64{}} }

// get returns the seq of a pending (or just indexed) event with the ID.
func (p *pendingIDSet) get(k idKey) (int64, bool) {
	if seq, ok := p.cur[k]; ok {
		return seq, true
	}
	seq, ok := p.old[k]
	return seq, ok
}

// add records a pending event's ID; seqs come in increasing order.
func (p *pendingIDSet) add(k idKey, seq int64) {
	p.cur[k] = seq
	p.curLast = seq
}

// indexed drops what it can once events through seq through are indexed:
// the old generation if all of it is, and the current one too if all of
// it is; else the current generation becomes the old one. fresh becomes
// the current generation when one is dropped: the caller makes it before
// it takes its locks, sized like the current one (a map of 300,000 IDs
// made under the pending lock took 13 ms). It returns the size of the
// generation dropped or retired, for the next fresh map's size.
func (p *pendingIDSet) indexed(through int64, fresh map[idKey]int64) int {
	if p.old != nil && p.oldLast > through {
		return 0
	}
	n := len(p.cur)
	if p.curLast <= through {
		p.cur, p.old, p.curLast, p.oldLast = fresh, nil, 0, 0
		return n
	}
	p.old, p.oldLast = p.cur, p.curLast
	p.cur, p.curLast = fresh, 0
	return n
}

// each calls f with every ID held.
func (p *pendingIDSet) each(f func(idKey)) {
	for k := range p.cur {
		f(k)
	}
	for k := range p.old {
		f(k)
	}
}
