package awsop

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"strconv"
)

// decodeCBOR decodes a Smithy RPC v2 CBOR body into JSON-like values:
// integers as json.Number, blobs as base64 strings, non-finite floats as
// strings. It reports false for anything that is not one well-formed item.
func decodeCBOR(b []byte) (any, bool) {
	if len(b) == 0 {
		return nil, false
	}
	d := &cborDecoder{b: b}
	v, err := d.item(0)
	if err != nil || d.i != len(d.b) {
		return nil, false
	}
	return fixBytes(v), true
}

type cborDecoder struct {
	b     []byte
	i     int
	items int
}

var errCBOR = errors.New("awsop: malformed CBOR")

// errBreak marks the "break" stop code of an indefinite-length item.
var errBreak = errors.New("awsop: CBOR break")

func (d *cborDecoder) byte() (byte, error) {
	if d.i >= len(d.b) {
		return 0, errCBOR
	}
	c := d.b[d.i]
	d.i++
	return c, nil
}

func (d *cborDecoder) bytes(n uint64) ([]byte, error) {
	if n > uint64(len(d.b)-d.i) {
		return nil, errCBOR
	}
	s := d.b[d.i : d.i+int(n)]
	d.i += int(n)
	return s, nil
}

// arg reads the argument of an initial byte; indefinite reports info 31.
func (d *cborDecoder) arg(info byte) (v uint64, indefinite bool, err error) {
	switch {
	case info < 24:
		return uint64(info), false, nil
	case info == 24:
		c, err := d.byte()
		return uint64(c), false, err
	case info == 25:
		s, err := d.bytes(2)
		if err != nil {
			return 0, false, err
		}
		return uint64(binary.BigEndian.Uint16(s)), false, nil
	case info == 26:
		s, err := d.bytes(4)
		if err != nil {
			return 0, false, err
		}
		return uint64(binary.BigEndian.Uint32(s)), false, nil
	case info == 27:
		s, err := d.bytes(8)
		if err != nil {
			return 0, false, err
		}
		return binary.BigEndian.Uint64(s), false, nil
	case info == 31:
		return 0, true, nil
	}
	return 0, false, errCBOR
}

func (d *cborDecoder) item(depth int) (any, error) {
	d.items++
	if depth > maxDepth || d.items > maxXMLElements {
		return nil, errCBOR
	}
	c, err := d.byte()
	if err != nil {
		return nil, err
	}
	major, info := c>>5, c&0x1f
	if major == 7 {
		return d.simple(info)
	}
	n, indef, err := d.arg(info)
	if err != nil {
		return nil, err
	}
	switch major {
	case 0:
		return json.Number(strconv.FormatUint(n, 10)), nil
	case 1:
		if indef {
			return nil, errCBOR
		}
		if n < math.MaxInt64 {
			return json.Number(strconv.FormatInt(-1-int64(n), 10)), nil
		}
		v := new(big.Int).SetUint64(n)
		return json.Number(v.Neg(v.Add(v, big.NewInt(1))).String()), nil
	case 2, 3:
		var s []byte
		if indef {
			for {
				chunk, err := d.item(depth + 1)
				if errors.Is(err, errBreak) {
					break
				}
				if err != nil {
					return nil, err
				}
				switch x := chunk.(type) {
				case string:
					if major == 3 {
						s = append(s, x...)
					} else {
						return nil, errCBOR
					}
				case cborBytes:
					if major == 2 {
						s = append(s, x...)
					} else {
						return nil, errCBOR
					}
				default:
					return nil, errCBOR
				}
			}
		} else if s, err = d.bytes(n); err != nil {
			return nil, err
		}
		if major == 3 {
			return string(s), nil
		}
		return cborBytes(s), nil
	case 4:
		var l []any
		for i := uint64(0); indef || i < n; i++ {
			// Each item left takes at least a byte: a count the body
			// cannot hold fails before it is looped over.
			if !indef && n-i > uint64(len(d.b)-d.i) {
				return nil, errCBOR
			}
			v, err := d.item(depth + 1)
			if indef && errors.Is(err, errBreak) {
				break
			}
			if err != nil {
				return nil, err
			}
			l = append(l, fixBytes(v))
		}
		if l == nil {
			l = []any{}
		}
		return l, nil
	case 5:
		m := map[string]any{}
		for i := uint64(0); indef || i < n; i++ {
			if !indef && n-i > uint64(len(d.b)-d.i) {
				return nil, errCBOR
			}
			k, err := d.item(depth + 1)
			if indef && errors.Is(err, errBreak) {
				break
			}
			if err != nil {
				return nil, err
			}
			v, err := d.item(depth + 1)
			if err != nil {
				return nil, errCBOR
			}
			var key string
			switch x := k.(type) {
			case string:
				key = x
			case json.Number:
				key = string(x)
			default:
				return nil, errCBOR
			}
			m[key] = fixBytes(v)
		}
		return m, nil
	case 6:
		if indef {
			return nil, errCBOR
		}
		v, err := d.item(depth + 1)
		if err != nil {
			return nil, errCBOR
		}
		return v, nil
	}
	return nil, errCBOR
}

// cborBytes is a byte string until it is placed in a container.
type cborBytes []byte

func fixBytes(v any) any {
	if b, ok := v.(cborBytes); ok {
		return base64.StdEncoding.EncodeToString(b)
	}
	return v
}

func (d *cborDecoder) simple(info byte) (any, error) {
	var f float64
	switch info {
	case 20:
		return false, nil
	case 21:
		return true, nil
	case 22, 23:
		return nil, nil
	case 24:
		_, err := d.byte()
		return nil, err
	case 25:
		s, err := d.bytes(2)
		if err != nil {
			return nil, err
		}
		f = halfFloat(binary.BigEndian.Uint16(s))
	case 26:
		s, err := d.bytes(4)
		if err != nil {
			return nil, err
		}
		f = float64(math.Float32frombits(binary.BigEndian.Uint32(s)))
	case 27:
		s, err := d.bytes(8)
		if err != nil {
			return nil, err
		}
		f = math.Float64frombits(binary.BigEndian.Uint64(s))
	case 31:
		return nil, errBreak
	default:
		if info < 20 {
			return nil, nil
		}
		return nil, errCBOR
	}
	switch {
	case math.IsNaN(f):
		return "NaN", nil
	case math.IsInf(f, 1):
		return "Infinity", nil
	case math.IsInf(f, -1):
		return "-Infinity", nil
	}
	return f, nil
}

func halfFloat(h uint16) float64 {
	exp := int(h>>10) & 0x1f
	mant := float64(h & 0x3ff)
	var v float64
	switch exp {
	case 0:
		v = mant * math.Pow(2, -24)
	case 31:
		if mant == 0 {
			v = math.Inf(1)
		} else {
			v = math.NaN()
		}
	default:
		v = (1 + mant/1024) * math.Pow(2, float64(exp-15))
	}
	if h&0x8000 != 0 {
		v = -v
	}
	return v
}
