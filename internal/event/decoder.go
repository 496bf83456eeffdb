package event

import (
	"bytes"
	"math/bits"
	"sync"
)

// Decode's working state. A record's members are held in a fixed array
// indexed by their place in fieldOrder (unknown members in a short list),
// so that no map is built per record, and the record is written back by
// walking that array. userIdentity and resources are read by walking their
// already checked JSON, with encoding/json asked only where its answer could
// differ from the walk's (names that match a field but for case, repeated
// fields, values of the wrong type). The strings an Event keeps are copied
// out of the record into one allocation.

// member is a record member whose name is not in fieldOrder.
type member struct{ name, val []byte }

// span is a string's place in decoder.text.
type span struct{ off, end int }

// decoder is the working state of Decode and ReadView for one record,
// kept in a pool between records.
type decoder struct {
	has  uint64 // bit r: the field of rank r is present
	vals [nFields][]byte
	// at is, per rank, where the value is in the record scanned, or -1 for a
	// value that is not there as it is (compacted, or written by Decode).
	at    [nFields]int32
	other []member // fields not in fieldOrder, in name order once scanned
	// set holds, per rank, the storage of a value Decode wrote itself.
	set  [nFields][]byte
	cbuf []byte // compacted values
	text []byte // the text of the strings the Event keeps
	// noEsc says that no string of the record scanned has an escape: its
	// text is what is between its quotes.
	noEsc bool
	res   []resourceSpans // the resources' texts, in d.text
	buf   []byte          // a record encoded for its content ID
	idAt  int             // where encode wrote (or would have written) the eventID member
	ident [5][]byte       // the values of identityNames in userIdentity

	// What scan found in userIdentity and resources while checking them,
	// so that decode need not walk them again: the places in the record of
	// the values membersAt would give (end 0: none). They are those of the
	// field's last value when that is an object (an array).
	identFast bool // membersAt would have accepted userIdentity
	identSp   [5]span
	resFast   bool // membersAt would have accepted every entry of resources
	resSp     []resourceSpans
}

// resourceSpans is where a resources entry's type, ARN and accountId are.
type resourceSpans struct{ typ, arn, acct span }

var decoders = sync.Pool{New: func() any { return new(decoder) }}

func getDecoder() *decoder { return decoders.Get().(*decoder) }

// putDecoder returns d to the pool, dropping its references to the record
// and any buffer grown too large to keep.
func putDecoder(d *decoder) {
	for h := d.has; h != 0; h &= h - 1 {
		d.vals[bits.TrailingZeros64(h)] = nil
	}
	d.has = 0
	clear(d.other)
	d.other = d.other[:0]
	clear(d.ident[:])
	const keep = 64 << 10
	if cap(d.cbuf) > keep {
		d.cbuf = nil
	}
	if cap(d.buf) > keep {
		d.buf = nil
	}
	if cap(d.text) > keep {
		d.text = nil
	}
	if cap(d.res) > 1024 {
		d.res = nil
	}
	if cap(d.resSp) > 1024 {
		d.resSp = nil
	}
	decoders.Put(d)
}

// present returns the field of rank r, or nil if the record has none.
func (d *decoder) field(r int) []byte {
	if d.has&(1<<r) == 0 {
		return nil
	}
	return d.vals[r]
}

// setString sets the field of rank r to the JSON string s.
func (d *decoder) setString(r int, s string) {
	d.set[r] = AppendString(d.set[r][:0], s)
	d.vals[r] = d.set[r]
	d.at[r] = -1
	d.has |= 1 << r
}

// setRaw sets the field of rank r to the JSON value v.
func (d *decoder) setRaw(r int, v []byte) {
	d.vals[r] = v
	d.at[r] = -1
	d.has |= 1 << r
}

// addText copies the text of the JSON string q into d.text; a value that
// is not a string (nil, null) has the empty text.
func (d *decoder) addText(q []byte) span {
	off := len(d.text)
	if len(q) < 2 || q[0] != '"' {
		return span{off, off}
	}
	inner := q[1 : len(q)-1]
	if d.noEsc || bytes.IndexByte(inner, '\\') < 0 {
		if end := off + len(inner); end <= cap(d.text) {
			// Not append: that stores d.text's pointer too, and the
			// garbage collector's write barrier with it.
			d.text = d.text[:end]
			copy(d.text[off:], inner)
		} else {
			d.text = append(d.text, inner...)
		}
	} else {
		s, _ := Unquote(q)
		d.text = append(d.text, s...)
	}
	return span{off, len(d.text)}
}

// fieldText is addText of the field of rank r.
func (d *decoder) fieldText(r int) span { return d.addText(d.field(r)) }

// texts is d.text from an offset on, made one string.
type texts struct {
	base int
	s    string
}

func (t texts) get(sp span) string {
	if sp.end == sp.off {
		return ""
	}
	return t.s[sp.off-t.base : sp.end-t.base]
}

func (d *decoder) seal(from int) texts { return texts{from, string(d.text[from:])} }
