package sqlite

import "github.com/cairn-audit/cairn/internal/store"

// postingGens holds the pending batches' postings by key, in generations:
// the writer adds each batch's to the newest, the indexer seals the newest
// when it takes batches for a transaction, and once a transaction has
// indexed every batch of the oldest generation it drops that generation
// whole. Dropping is then O(1) under pmu: removing an indexed
// transaction's postings key by key held pmu for 4–19 ms with ~20,000 keys
// pending, and every lookup waited behind it.
//
// A generation may hold postings already indexed (its first batches were
// indexed, its last not yet): lookups allow for a posting found both
// pending and in the index (TopK keeps it once); what must count only the
// unindexed ones (the histogram) leaves out those numbered below the first
// pending batch. Each key's list is in seq order within a generation, and
// the generations are in seq order. The caller of each method holds pmu.
type postingGens struct {
	gens []*postingGen // oldest first; the last is the one filling
}

type postingGen struct {
	post map[int64][]store.Posting
	last int64 // seqN of the last batch added; 0 while none is
}

// add adds a batch's postings to the newest generation.
func (g *postingGens) add(bt *batch) {
	if len(g.gens) == 0 {
		g.gens = append(g.gens, &postingGen{post: map[int64][]store.Posting{}})
	}
	cur := g.gens[len(g.gens)-1]
	for k, ps := range bt.postings {
		if old, ok := cur.post[k]; ok {
			cur.post[k] = append(old, ps...)
			continue
		}
		// A key new to the generation (most of an import's, one-off keys)
		// shares the batch's list, which nothing changes; its capacity cut,
		// so that a later batch's postings are appended to a copy.
		cur.post[k] = ps[:len(ps):len(ps)]
	}
	cur.last = bt.b.seqN
}

// seal starts a new generation, with the map next, for the batches added
// from now on, unless the newest has none yet; it returns how many keys
// the sealed generation has (0: none sealed). The caller makes next before
// it takes pmu, sized by the last generation sealed: a map made under pmu,
// or grown there table by table as batches come, kept the writer and
// every lookup waiting.
func (g *postingGens) seal(next map[int64][]store.Posting) int {
	if len(g.gens) == 0 {
		return 0
	}
	cur := g.gens[len(g.gens)-1]
	if cur.last == 0 {
		return 0
	}
	g.gens = append(g.gens, &postingGen{post: next})
	return len(cur.post)
}

// drop removes the generations whose batches are all indexed (through
// seq through).
func (g *postingGens) drop(through int64) {
	n := 0
	for n < len(g.gens) && g.gens[n].last != 0 && g.gens[n].last <= through {
		n++
	}
	if n == 0 {
		return
	}
	clear(g.gens[:n])
	g.gens = g.gens[n:]
}

// each calls f with key's list in each generation, oldest first.
func (g *postingGens) each(key int64, f func([]store.Posting)) {
	for _, gen := range g.gens {
		if ps, ok := gen.post[key]; ok {
			f(ps)
		}
	}
}
