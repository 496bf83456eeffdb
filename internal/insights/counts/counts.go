// Package counts keeps the per-minute counts the Insights engine counts —
// an API's write calls (ApiCallRateInsight) and its errors by code
// (ApiErrorRateInsight) per account and region — so that
// ListInsightsMetricData and the console's Insights chart can draw them.
//
// Why counts are kept rather than read back from the event log: a busy
// API's 90 days are millions of records (100 calls a minute is 13 million),
// which a lookup would read and decode at every request, and data events
// are not in event history at all. Kept counts cost one small document per
// API, error code and day, written when the engine checkpoints; a request
// reads at most 91 of them.
//
// Documents are state documents keyed
// insights/metrics/<YYYYMMDD>/<account>/<region>/<series hash>. Each holds
// the day's counts at its resolution and the highest log sequence number it
// includes (Through): an event read again after a crash or a lease change
// is not counted twice, because its sequence number is not above Through.
// Retention follows the model's periods: a day's minutes are kept for 15
// days, then summed into 5-minute counts (kept 63 days), then into hours
// (kept 90 days), then deleted.
package counts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"time"

	"github.com/cairn-audit/cairn/internal/insights"
	"github.com/cairn-audit/cairn/internal/store"
)

// Series names one count: an API of an account and region, an insight
// type, and for the error rate one error code.
type Series struct {
	Account, Region, EventSource, EventName, InsightType string
	// ErrorCode is the error code counted (ApiErrorRateInsight); "" for
	// the call rate.
	ErrorCode string
}

// Retention per resolution, as the model's ListInsightsMetricData states
// it: 1-minute points for 15 days, 5-minute for 63, 1-hour for 90.
var Retention = map[int]time.Duration{
	60:   15 * 24 * time.Hour,
	300:  63 * 24 * time.Hour,
	3600: 90 * 24 * time.Hour,
}

// prefix starts every count document's key.
const prefix = "insights/metrics/"

// maxPending is how many counted events wait in memory before the engine
// writes them out in the middle of a long read (a backfill): 24 bytes each.
const maxPending = 1 << 16

// Counts records the engine's counts and reads them back. Count, Pending,
// Flush and Reset are the engine's (one goroutine); Read may be called by
// any goroutine.
type Counts struct {
	st  store.StateDocs
	now func() time.Time
	log *slog.Logger

	pending []entry
	index   map[Series]int32
	series  []Series
	// codes are the error codes (hashed) each API's errors are counted
	// under this UTC day of the clock, at most MaxErrorCodes an API: a
	// producer that invents error codes cannot make documents without
	// bound. codesDay is the day they are of.
	codes    map[uint64][]uint64
	codesDay int64
	seed     maphash.Seed
	// dropped counts the errors not counted today (warned of once a day).
	dropped uint64
	// maintained is the last UTC day (days since the epoch) whose old
	// documents were compacted and purged.
	maintained int64
}

// entry is one counted event waiting to be written.
type entry struct {
	seq    int64
	minute int64 // Unix minutes
	series int32
}

// New makes the counts over st; now is the clock (nil: time.Now).
func New(st store.StateDocs, now func() time.Time, log *slog.Logger) *Counts {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Counts{st: st, now: now, log: log, index: map[Series]int32{}, codes: map[uint64][]uint64{}, seed: maphash.MakeSeed()}
}

// MaxErrorCodes is how many error codes of one API are counted in a day
// (of the server's clock); errors with further codes still count toward
// the Insights engine's error rate, but not in ListInsightsMetricData.
const MaxErrorCodes = 20

// codeCounted reports whether errors of s (an error-rate series) are
// counted: its code is among the first MaxErrorCodes of its API today.
func (c *Counts) codeCounted(s Series) bool {
	if day := c.now().Unix() / 86400; day != c.codesDay {
		clear(c.codes)
		c.codesDay, c.dropped = day, 0
	}
	api := maphash.Comparable(c.seed, Series{Account: s.Account, Region: s.Region, EventSource: s.EventSource,
		EventName: s.EventName, InsightType: s.InsightType})
	code := maphash.String(c.seed, s.ErrorCode)
	have := c.codes[api]
	if slices.Contains(have, code) {
		return true
	}
	if len(have) >= MaxErrorCodes {
		if c.dropped == 0 {
			c.log.Warn("insights: an API's errors have more codes than are counted in a day; errors of further codes are not kept for ListInsightsMetricData today",
				"account", s.Account, "region", s.Region, "eventSource", s.EventSource, "eventName", s.EventName, "codesPerAPI", MaxErrorCodes)
		}
		c.dropped++
		return false
	}
	c.codes[api] = append(have, code)
	return true
}

// Count notes one event (log position seq) of k at eventTime t; errorCode
// is the event's error code for the error rate, "" for the call rate.
func (c *Counts) Count(seq int64, k insights.Key, t time.Time, errorCode string) {
	s := Series{Account: k.Account, Region: k.Region, EventSource: k.EventSource, EventName: k.EventName,
		InsightType: k.InsightType, ErrorCode: errorCode}
	i, ok := c.index[s]
	if !ok && errorCode != "" && !c.codeCounted(s) {
		return
	}
	if !ok {
		i = int32(len(c.series))
		c.series = append(c.series, s)
		c.index[s] = i
	}
	c.pending = append(c.pending, entry{seq: seq, minute: insights.Minute(t), series: i})
}

// Full reports whether the pending counts should be written now.
func (c *Counts) Full() bool { return len(c.pending) >= maxPending }

// Reset drops the pending counts: the engine reads their events again.
func (c *Counts) Reset() { c.clear() }

func (c *Counts) clear() {
	c.pending = c.pending[:0]
	clear(c.index)
	c.series = c.series[:0]
}

// doc is one stored count document.
type doc struct {
	// Through is the highest log sequence number counted here.
	Through int64 `json:"through"`
	// Res is the resolution in seconds (60, 300 or 3600).
	Res int64 `json:"res"`
	// C are [slot, count] pairs, slot = seconds into the day / Res, sorted.
	C [][2]int64 `json:"c"`
}

// Flush writes the pending counts into their documents and, once a day,
// compacts and purges old documents.
func (c *Counts) Flush(ctx context.Context) error {
	if err := c.maintain(ctx); err != nil {
		return err
	}
	if len(c.pending) == 0 {
		return nil
	}
	groups := map[string][]entry{}
	var keys []string
	cutoff := c.now().Add(-Retention[3600]).Unix() / 60
	for _, e := range c.pending {
		if e.minute < cutoff {
			continue // older than any period keeps
		}
		k := docKey(c.series[e.series], e.minute/1440)
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], e)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := c.apply(ctx, k, groups[k]); err != nil {
			return err
		}
	}
	c.clear()
	return nil
}

// apply adds entries (in sequence order) to document key: those above its
// Through, so that none is counted twice.
func (c *Counts) apply(ctx context.Context, key string, es []entry) error {
	for range 5 {
		d, ver, err := c.get(ctx, key)
		if err != nil {
			return err
		}
		if d.Res == 0 {
			d.Res = c.resolution(es[0].minute / 1440)
		}
		add := map[int64]int64{}
		for _, e := range es {
			if e.seq > d.Through {
				add[(e.minute%1440)*60/d.Res]++
			}
		}
		if len(add) == 0 {
			return nil
		}
		d.Through = es[len(es)-1].seq
		d.C = merge(d.C, add)
		b, _ := json.Marshal(d)
		_, err = c.st.PutState(ctx, key, b, ver)
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrNotFound) {
			continue // another node wrote it meanwhile: read it again
		}
		if err != nil {
			return fmt.Errorf("insights counts %s: %w", key, err)
		}
		return nil
	}
	return fmt.Errorf("insights counts %s: changed concurrently five times", key)
}

// resolution is the resolution a new document of day starts at: what
// maintenance would have made of it by now (a backfill of old days).
func (c *Counts) resolution(day int64) int64 {
	end := time.Unix((day+1)*86400, 0)
	switch age := c.now().Sub(end); {
	case age > Retention[300]:
		return 3600
	case age > Retention[60]:
		return 300
	}
	return 60
}

// get reads a document (a zero one, version 0, if absent).
func (c *Counts) get(ctx context.Context, key string) (doc, int64, error) {
	sd, err := c.st.GetState(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return doc{}, 0, nil
	}
	if err != nil {
		return doc{}, 0, fmt.Errorf("insights counts %s: %w", key, err)
	}
	var d doc
	if err := json.Unmarshal(sd.Doc, &d); err != nil {
		return doc{}, 0, fmt.Errorf("insights counts %s: %w", key, err)
	}
	return d, sd.Version, nil
}

// merge adds counts to sorted pairs.
func merge(pairs [][2]int64, add map[int64]int64) [][2]int64 {
	for i, p := range pairs {
		if n, ok := add[p[0]]; ok {
			pairs[i][1] += n
			delete(add, p[0])
		}
	}
	for slot, n := range add {
		pairs = append(pairs, [2]int64{slot, n})
	}
	slices.SortFunc(pairs, func(a, b [2]int64) int { return int(a[0] - b[0]) })
	return pairs
}

// docKey is the key of s's document of day (days since the epoch).
func docKey(s Series, day int64) string {
	return dayPrefix(day) + s.Account + "/" + s.Region + "/" + seriesHash(s)
}

func dayPrefix(day int64) string {
	return prefix + time.Unix(day*86400, 0).UTC().Format("20060102") + "/"
}

// seriesHash names a series in a key: its API and error code may hold any
// character.
func seriesHash(s Series) string {
	h := sha256.Sum256([]byte(s.EventSource + "\x00" + s.EventName + "\x00" + s.InsightType + "\x00" + s.ErrorCode))
	return hex.EncodeToString(h[:12])
}

// Read returns s's counts of [from, to) summed into buckets of period
// seconds (keyed by the bucket's start, Unix seconds); buckets without an
// event are absent.
func (c *Counts) Read(ctx context.Context, s Series, from, to time.Time, period int64) (map[int64]float64, error) {
	out := map[int64]float64{}
	lo, hi := from.Unix(), to.Unix()
	if hi <= lo {
		return out, nil
	}
	for day := lo / 86400; day*86400 < hi; day++ {
		d, _, err := c.get(ctx, docKey(s, day))
		if err != nil {
			return nil, err
		}
		for _, p := range d.C {
			at := day*86400 + p[0]*d.Res
			if at < lo || at >= hi {
				continue
			}
			out[at-at%period] += float64(p[1])
		}
	}
	return out, nil
}
