package sqlite

// pendingIDSet maps the IDs of pending events (written to the log, not yet
// indexed) to their seqs, for the writer's duplicate check and lookups by
// eventID. It is kept in two generations, each dropped whole once every
// event in it is indexed: deleting a transaction's IDs one by one took the
// indexer ~13 ms of 64,000 map deletes under the pending lock, which every
// lookup and the writer wait for. An entry may so outlive its event's
// pending time (until the next transaction at most); its seq is then found
// in the index too, which readers allow for. The caller holds pmu.
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
// it is; else the current generation becomes the old one.
func (p *pendingIDSet) indexed(through int64) {
	if p.old != nil && p.oldLast > through {
		return
	}
	if p.curLast <= through {
		p.cur, p.old, p.curLast, p.oldLast = map[idKey]int64{}, nil, 0, 0
		return
	}
	// No size hint: a map made for the old one's size took milliseconds
	// to allocate under pmu; a map grows a table at a time.
	p.old, p.oldLast = p.cur, p.curLast
	p.cur, p.curLast = map[idKey]int64{}, 0
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
