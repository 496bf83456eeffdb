package insights

import (
	"bytes"
	"compress/gzip"
	"encoding/gob"
	"fmt"
	"io"
)

// snapshot is a detector's whole state, as the consumer checkpoints it.
type snapshot struct {
	Closed int64
	First  map[[2]string]int64
	APIs   []apiSnapshot
}

type apiSnapshot struct {
	Key     Key
	Slots   []hourSlot
	Battr   attribSet
	BattrAt int64
	Open    map[int64]*minuteAgg
	Ins     *openInsight
	Decided int64
}

// MarshalBinary encodes the detector's state (gzip'd gob). Late events not
// yet flushed are flushed first.
func (d *Detector) MarshalBinary() ([]byte, error) {
	d.Flush()
	s := snapshot{Closed: d.closed, First: d.first}
	for k, x := range d.apis {
		s.APIs = append(s.APIs, apiSnapshot{Key: k, Slots: x.base.Slots, Battr: x.battr, BattrAt: x.battrAt,
			Open: x.open, Ins: x.ins, Decided: x.decided})
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if err := gob.NewEncoder(zw).Encode(&s); err != nil {
		return nil, fmt.Errorf("insights: encode state: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// maxSnapshotBytes bounds a decoded snapshot.
const maxSnapshotBytes = 1 << 30

// UnmarshalDetector rebuilds a detector from MarshalBinary's bytes. A
// state made with another window length starts its baselines afresh (the
// hour slots no longer line up), keeping the open Insights.
func UnmarshalDetector(cfg Config, b []byte) (*Detector, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("insights: decode state: %w", err)
	}
	var s snapshot
	if err := gob.NewDecoder(io.LimitReader(zr, maxSnapshotBytes)).Decode(&s); err != nil {
		return nil, fmt.Errorf("insights: decode state: %w", err)
	}
	d := NewDetector(cfg, s.Closed)
	if s.First != nil {
		d.first = s.First
	}
	for _, a := range s.APIs {
		x := d.api(a.Key)
		if len(a.Slots) == len(x.base.Slots) {
			x.base.Slots = a.Slots
		}
		x.battr, x.battrAt, x.ins, x.decided = a.Battr, a.BattrAt, a.Ins, a.Decided
		if a.Open != nil {
			x.open = a.Open
		}
		if len(x.open) > 0 || x.ins != nil {
			d.active[a.Key] = true
		}
	}
	return d, nil
}
