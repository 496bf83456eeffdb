package insights

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"math"
)

// snapshot is a detector's whole state, as the consumer checkpoints it.
type snapshot struct {
	Closed int64
	First  map[[2]string]int64
	APIs   []apiSnapshot
}

type apiSnapshot struct {
	Key Key
	// Ring is the baseline's used slots, packed (packRing): several times
	// smaller and faster than gob's encoding of every slot.
	Ring []byte
	// Slots is every slot, as older checkpoints hold them.
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
		s.APIs = append(s.APIs, apiSnapshot{Key: k, Ring: packRing(x.base.Slots), Battr: x.battr, BattrAt: x.battrAt,
			Open: x.open, Ins: x.ins, Decided: x.decided})
	}
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed) // the level is valid: no error
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
		switch {
		case a.Ring != nil:
			if err := unpackRing(a.Ring, x.base.Slots); err != nil {
				return nil, err
			}
		case len(a.Slots) == len(x.base.Slots):
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

// packRing encodes a ring's used slots: per slot its index, hour, sum and
// peak as uvarints and the sum of squares as float32 bits.
func packRing(slots []hourSlot) []byte {
	out := make([]byte, 0, 64)
	for i, s := range slots {
		if s.Sum == 0 {
			continue
		}
		out = binary.AppendUvarint(out, uint64(i))
		out = binary.AppendUvarint(out, uint64(uint32(s.Hour)))
		out = binary.AppendUvarint(out, uint64(s.Sum))
		out = binary.AppendUvarint(out, uint64(s.Peak))
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(s.SumSq))
	}
	if out == nil {
		out = []byte{}
	}
	return out
}

// unpackRing decodes packRing's bytes into slots of the same ring length.
// Slots of a ring of another length (another window) are dropped: the
// baseline starts afresh, as for a gob checkpoint.
func unpackRing(b []byte, slots []hourSlot) error {
	var vals [4]uint64
	for len(b) > 0 {
		for j := range vals {
			v, n := binary.Uvarint(b)
			if n <= 0 {
				return errors.New("insights: decode state: bad ring")
			}
			vals[j], b = v, b[n:]
		}
		if len(b) < 4 {
			return errors.New("insights: decode state: bad ring")
		}
		sq := math.Float32frombits(binary.LittleEndian.Uint32(b))
		b = b[4:]
		i, hour := vals[0], int64(int32(uint32(vals[1])))
		if i >= uint64(len(slots)) || hour%int64(len(slots)) != int64(i) {
			clear(slots) // another window's ring
			return nil
		}
		slots[i] = hourSlot{Hour: int32(hour), Sum: uint32(vals[2]), Peak: uint32(vals[3]), SumSq: sq}
	}
	return nil
}
