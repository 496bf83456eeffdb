package awsop

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/big"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// The hand-written decoder (cbor.go) is checked against an independent
// encoder, fxamacker/cbor (a test-only dependency): varied Go values are
// encoded under several of its encoding modes, with definite and
// indefinite lengths, and decodeCBOR must read each back as the JSON-like
// value the value stands for.

// refModes are fxamacker/cbor's encoding modes the values are encoded in:
// its default, its deterministic and canonical profiles (sorted map keys,
// shortest floats), and one that keeps NaN payloads and encodes every
// big.Int as a bignum tag.
func refModes(t testing.TB) []cbor.EncMode {
	opts := []cbor.EncOptions{
		{},
		cbor.CoreDetEncOptions(),
		cbor.CanonicalEncOptions(),
		cbor.CTAP2EncOptions(),
		cbor.PreferredUnsortedEncOptions(),
		{ShortestFloat: cbor.ShortestFloat16, NaNConvert: cbor.NaNConvertPreserveSignal, InfConvert: cbor.InfConvertNone,
			BigIntConvert: cbor.BigIntConvertNone},
	}
	modes := make([]cbor.EncMode, len(opts))
	for i, o := range opts {
		em, err := o.EncMode()
		if err != nil {
			t.Fatalf("encoding mode %d: %v", i, err)
		}
		modes[i] = em
	}
	return modes
}

// chooser gives the generator its choices: a seeded PRNG in tests, the
// fuzzer's bytes in the fuzz test.
type chooser interface {
	// pick returns a number below n (n > 0).
	pick(n uint64) uint64
	// word returns 64 arbitrary bits.
	word() uint64
}

type randChooser struct{ r *rand.Rand }

func (c randChooser) pick(n uint64) uint64 { return c.r.Uint64N(n) }
func (c randChooser) word() uint64         { return c.r.Uint64() }

// byteChooser reads its choices from b, then zeros once b is used up.
type byteChooser struct{ b []byte }

func (c *byteChooser) next(n int) uint64 {
	var w [8]byte
	k := copy(w[8-n:], c.b)
	c.b = c.b[k:]
	return binary.BigEndian.Uint64(w[:])
}

func (c *byteChooser) pick(n uint64) uint64 {
	if n <= 256 {
		return c.next(1) % n
	}
	return c.next(8) % n
}

func (c *byteChooser) word() uint64 { return c.next(8) }

// cborGen builds a value's encoding with fxamacker/cbor and, alongside,
// the value decodeCBOR must give for it.
type cborGen struct {
	t  testing.TB
	c  chooser
	em cbor.EncMode
}

// marshal encodes v with the generator's mode, failing the test on error.
func (g *cborGen) marshal(v any) cbor.RawMessage {
	b, err := g.em.Marshal(v)
	if err != nil {
		g.t.Fatalf("fxamacker/cbor cannot encode %#v: %v", v, err)
	}
	return b
}

// indefinite chooses an indefinite length, one time in three where the
// mode allows it.
func (g *cborGen) indefinite() bool {
	return g.em.EncOptions().IndefLength == cbor.IndefLengthAllowed && g.c.pick(3) == 0
}

// item returns one encoded item and what it decodes to. Containers nest
// at most depth levels.
func (g *cborGen) item(depth int) (cbor.RawMessage, any) {
	kinds := uint64(10)
	if depth <= 0 {
		kinds = 6 // scalars only
	}
	switch g.c.pick(kinds) {
	case 0:
		return g.integer()
	case 1:
		return g.float()
	case 2:
		s := g.text()
		if g.indefinite() {
			return g.chunked(s, false)
		}
		return g.marshal(s), s
	case 3:
		b := []byte(g.text())
		if g.indefinite() {
			return g.chunked(string(b), true)
		}
		return g.marshal(b), base64.StdEncoding.EncodeToString(b)
	case 4:
		return g.simple()
	case 5:
		return g.bigInt()
	case 6, 7:
		return g.array(depth - 1)
	case 8:
		return g.mapping(depth - 1)
	default:
		raw, want := g.item(depth - 1)
		if g.em.EncOptions().TagsMd == cbor.TagsForbidden {
			return raw, want
		}
		tag := []uint64{6, 21, 32, 100, 1 << 20, 1<<32 + 7, math.MaxUint64}[g.c.pick(7)]
		return g.marshal(cbor.Tag{Number: tag, Content: raw}), want
	}
}

func (g *cborGen) integer() (cbor.RawMessage, any) {
	w := g.c.word()
	// Mostly values near the boundaries of the argument's sizes.
	switch g.c.pick(4) {
	case 0:
		w %= 30
	case 1:
		w = []uint64{23, 24, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64, math.MaxUint64}[w%10]
	}
	if g.c.pick(2) == 0 {
		return g.marshal(w), json.Number(strconv.FormatUint(w, 10))
	}
	switch x := int64(w); g.c.pick(3) {
	case 0:
		return g.marshal(int8(x)), json.Number(strconv.FormatInt(int64(int8(x)), 10))
	case 1:
		return g.marshal(int32(x)), json.Number(strconv.FormatInt(int64(int32(x)), 10))
	default:
		return g.marshal(x), json.Number(strconv.FormatInt(x, 10))
	}
}

func (g *cborGen) float() (cbor.RawMessage, any) {
	var f float64
	switch g.c.pick(4) {
	case 0:
		f = math.Float64frombits(g.c.word())
	case 1:
		f = float64(math.Float32frombits(uint32(g.c.word())))
	case 2:
		f = []float64{0, math.Copysign(0, -1), 1, -1.5, 65504, 1e-7, 5.960464477539063e-08, math.Inf(1), math.Inf(-1), math.NaN(),
			math.SmallestNonzeroFloat64, math.MaxFloat64, 0.1}[g.c.pick(13)]
	default:
		f = float64(int64(g.c.word()%2000)-1000) / 8
	}
	want := wantFloat(f)
	if g.c.pick(3) == 0 && float64(float32(f)) == f || math.IsNaN(f) && g.c.pick(2) == 0 {
		return g.marshal(float32(f)), want
	}
	return g.marshal(f), want
}

// wantFloat is what decodeCBOR gives for a float: the number, or a name
// for the values JSON has no number for.
func wantFloat(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return f
}

// text is a short string of varied runes (ASCII, accented, CJK, astral).
func (g *cborGen) text() string {
	var b strings.Builder
	for n := g.c.pick(12); n > 0; n-- {
		switch g.c.pick(4) {
		case 0:
			b.WriteRune(rune(0x20 + g.c.pick(0x5f)))
		case 1:
			b.WriteRune(rune(0xa0 + g.c.pick(0x700)))
		case 2:
			b.WriteRune(rune(0x4e00 + g.c.pick(0x5000)))
		default:
			b.WriteRune(rune(0x1f300 + g.c.pick(0x300)))
		}
	}
	return b.String()
}

// chunked encodes s as an indefinite-length string in up to 4 chunks.
func (g *cborGen) chunked(s string, asBytes bool) (cbor.RawMessage, any) {
	// Chunks end on rune boundaries; some may be empty.
	var chunks []any
	runes := []rune(s)
	for parts, from := g.c.pick(4)+1, 0; parts > 0; parts-- {
		to := len(runes)
		if parts > 1 {
			to = from + int(g.c.pick(uint64(len(runes)-from+1)))
		}
		chunk := string(runes[from:to])
		from = to
		if asBytes {
			chunks = append(chunks, []byte(chunk))
		} else {
			chunks = append(chunks, chunk)
		}
	}
	if asBytes {
		return g.stream((*cbor.Encoder).StartIndefiniteByteString, chunks), base64.StdEncoding.EncodeToString([]byte(s))
	}
	return g.stream((*cbor.Encoder).StartIndefiniteTextString, chunks), s
}

// stream encodes an indefinite-length item with fxamacker/cbor's streaming
// encoder: start, then each of items, then the break.
func (g *cborGen) stream(start func(*cbor.Encoder) error, items []any) cbor.RawMessage {
	var buf bytes.Buffer
	enc := g.em.NewEncoder(&buf)
	if err := start(enc); err != nil {
		g.t.Fatal(err)
	}
	for _, it := range items {
		if err := enc.Encode(it); err != nil {
			g.t.Fatal(err)
		}
	}
	if err := enc.EndIndefinite(); err != nil {
		g.t.Fatal(err)
	}
	return buf.Bytes()
}

func (g *cborGen) simple() (cbor.RawMessage, any) {
	switch g.c.pick(5) {
	case 0:
		return g.marshal(false), false
	case 1:
		return g.marshal(true), true
	case 2:
		return g.marshal(nil), nil
	case 3:
		return g.marshal(cbor.SimpleValue(23)), nil // undefined
	default:
		// Unassigned simple values, in the initial byte or the next one.
		sv := g.c.pick(20 + 224)
		if sv >= 20 {
			sv += 12
		}
		return g.marshal(cbor.SimpleValue(sv)), nil
	}
}

// bigInt encodes a big.Int: a CBOR integer where it fits in one (and the
// mode converts), else a bignum (tag 2 or 3 on a byte string), which
// decodeCBOR reads as its content, the byte string.
func (g *cborGen) bigInt() (cbor.RawMessage, any) {
	n := new(big.Int).SetUint64(g.c.word())
	if g.em.EncOptions().TagsMd == cbor.TagsAllowed {
		// Also beyond 64 bits, as a bignum.
		n.Lsh(n, uint(g.c.pick(80)))
		n.Add(n, new(big.Int).SetUint64(g.c.pick(3)))
	}
	if g.c.pick(2) == 0 {
		n.Neg(n)
	}
	raw := g.marshal(n)
	magnitude := new(big.Int).Set(n) // what a bignum tag's content holds
	if n.Sign() < 0 {
		magnitude.Neg(magnitude).Sub(magnitude, big.NewInt(1))
	}
	fits := magnitude.IsUint64()
	if fits && g.em.EncOptions().BigIntConvert == cbor.BigIntConvertShortest {
		return raw, json.Number(n.String())
	}
	return raw, base64.StdEncoding.EncodeToString(magnitude.Bytes())
}

// array encodes up to 5 items, as a definite- or indefinite-length array.
func (g *cborGen) array(depth int) (cbor.RawMessage, any) {
	n := g.c.pick(6)
	raws := make([]cbor.RawMessage, 0, n)
	want := make([]any, 0, n)
	for range n {
		raw, w := g.item(depth)
		raws, want = append(raws, raw), append(want, w)
	}
	if !g.indefinite() {
		return g.marshal(raws), want
	}
	items := make([]any, len(raws))
	for i, raw := range raws {
		items[i] = raw
	}
	return g.stream((*cbor.Encoder).StartIndefiniteArray, items), want
}

// mapping encodes up to 5 members under text or integer keys (decodeCBOR
// names an integer key by its decimal text), definite or indefinite.
func (g *cborGen) mapping(depth int) (cbor.RawMessage, any) {
	n := g.c.pick(6)
	type member struct {
		key any
		raw cbor.RawMessage
	}
	var members []member
	want := map[string]any{}
	for range n {
		var key any
		name := ""
		if g.c.pick(3) == 0 {
			k := int64(g.c.word()) >> g.c.pick(64)
			key, name = k, strconv.FormatInt(k, 10)
		} else {
			name = g.text()
			key = name
		}
		if _, dup := want[name]; dup {
			continue
		}
		raw, w := g.item(depth)
		members = append(members, member{key, raw})
		want[name] = w
	}
	if !g.indefinite() {
		m := make(map[any]cbor.RawMessage, len(members))
		for _, mb := range members {
			m[mb.key] = mb.raw
		}
		return g.marshal(m), want
	}
	var items []any
	for _, mb := range members {
		items = append(items, mb.key, mb.raw)
	}
	return g.stream((*cbor.Encoder).StartIndefiniteMap, items), want
}

// checkDecodesAs decodes raw with decodeCBOR and compares with want.
func checkDecodesAs(t testing.TB, raw []byte, want any) {
	t.Helper()
	got, ok := decodeCBOR(raw)
	if !ok {
		t.Fatalf("decodeCBOR(% x) failed; want %s", raw, js(want))
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeCBOR(% x) =\n%s\nwant\n%s", raw, js(got), js(want))
	}
}

// TestDecodeCBORMatchesFxamacker: values encoded by fxamacker/cbor, in
// each of its modes, decode to what they stand for.
func TestDecodeCBORMatchesFxamacker(t *testing.T) {
	for mi, em := range refModes(t) {
		r := rand.New(rand.NewPCG(uint64(mi), 15))
		for range 400 {
			g := &cborGen{t: t, c: randChooser{r}, em: em}
			raw, want := g.item(5)
			checkDecodesAs(t, raw, want)
		}
	}
	// Values of everyday Go types, encoded whole by fxamacker/cbor.
	type metric struct {
		MetricName string
		Value      float64
		Counts     []int
		Unit       string `cbor:",omitempty"`
		Blob       []byte
	}
	v := map[string]any{"Namespace": "App", "MetricData": []metric{{MetricName: "Latency", Value: 1.5, Counts: []int{1, -2}, Blob: []byte{0, 1}}}}
	want := map[string]any{"Namespace": "App", "MetricData": []any{map[string]any{"MetricName": "Latency", "Value": 1.5,
		"Counts": []any{json.Number("1"), json.Number("-2")}, "Blob": "AAE="}}}
	for _, em := range refModes(t) {
		b, err := em.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		checkDecodesAs(t, b, want)
	}
}

// FuzzDecodeCBORMatchesFxamacker builds a value from the fuzzer's bytes,
// encodes it with fxamacker/cbor and checks that decodeCBOR reads it back.
func FuzzDecodeCBORMatchesFxamacker(f *testing.F) {
	f.Add(uint8(0), []byte{})
	f.Add(uint8(1), []byte{6, 3, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add(uint8(5), []byte{8, 2, 1, 2, 2, 2, 0xff, 0xfe, 1, 1, 9, 3, 5, 5, 5})
	modes := refModes(f)
	f.Fuzz(func(t *testing.T, mode uint8, choices []byte) {
		g := &cborGen{t: t, c: &byteChooser{choices}, em: modes[int(mode)%len(modes)]}
		raw, want := g.item(6)
		checkDecodesAs(t, raw, want)
	})
}

// TestResolveCBORBodyEndingInShortItems: a PutMetricData body whose last
// array holds more items than bytes remain after its first (small integers
// are one byte each) is read whole. The decoder once compared an array's
// full count with the bytes left at every item and dropped such a body's
// parameters.
func TestResolveCBORBodyEndingInShortItems(t *testing.T) {
	type datum struct {
		MetricName string
		Values     []int
	}
	body, err := cbor.Marshal(struct {
		Namespace  string
		MetricData []datum
	}{"App", []datum{{"Latency", []int{1, 2, 3}}}})
	if err != nil {
		t.Fatal(err)
	}
	op := Resolve(&Call{Method: "POST", Host: "monitoring.us-east-1.amazonaws.com", Path: "/service/GraniteServiceVersion20100801/operation/PutMetricData",
		Header: hdr("Smithy-Protocol", "rpc-v2-cbor", "Content-Type", "application/cbor"), Service: "monitoring", Region: "us-east-1", Status: 200,
		Body: body})
	if got, want := js(op.RequestParameters), `{"metricData":[{"metricName":"Latency","values":[1,2,3]}],"namespace":"App"}`; op.Name != "PutMetricData" || got != want {
		t.Errorf("%s requestParameters %s, want %s", op.Name, got, want)
	}
}

// jsonLike turns what fxamacker/cbor decodes into an empty interface into
// the value decodeCBOR gives for the same item. It reports false for what
// decodeCBOR may read differently: a key that is neither text nor an
// integer, or two keys with one name.
func jsonLike(v any) (any, bool) {
	switch x := v.(type) {
	case nil, bool, string:
		return x, true
	case cbor.SimpleValue:
		return nil, true
	case uint64:
		return json.Number(strconv.FormatUint(x, 10)), true
	case int64:
		return json.Number(strconv.FormatInt(x, 10)), true
	case *big.Int:
		return json.Number(x.String()), true
	case big.Int:
		return json.Number(x.String()), true
	case float64:
		return wantFloat(x), true
	case []byte:
		return base64.StdEncoding.EncodeToString(x), true
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			var ok bool
			if out[i], ok = jsonLike(e); !ok {
				return nil, false
			}
		}
		return out, true
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			name, ok := jsonLike(k)
			if !ok {
				return nil, false
			}
			key, named := name.(string)
			if n, isNumber := name.(json.Number); isNumber {
				key, named = string(n), true
			}
			if _, dup := out[key]; dup || !named {
				return nil, false
			}
			if out[key], ok = jsonLike(e); !ok {
				return nil, false
			}
		}
		return out, true
	}
	return nil, false
}

// FuzzDecodeCBORAgreesWithFxamacker: whatever fxamacker/cbor decodes
// (tags and duplicate keys refused, as decodeCBOR reads them its own way),
// decodeCBOR decodes too, to the same value.
func FuzzDecodeCBORAgreesWithFxamacker(f *testing.F) {
	dm, err := cbor.DecOptions{TagsMd: cbor.TagsForbidden, DupMapKey: cbor.DupMapKeyEnforcedAPF}.DecMode()
	if err != nil {
		f.Fatal(err)
	}
	for _, em := range refModes(f) {
		r := rand.New(rand.NewPCG(7, 7))
		for range 8 {
			raw, _ := (&cborGen{t: f, c: randChooser{r}, em: em}).item(3)
			f.Add([]byte(raw))
		}
	}
	f.Add([]byte{0x82, 0x01, 0x02})
	f.Add([]byte{0xbf, 0x61, 'a', 0x9f, 0x01, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<16 {
			return
		}
		var v any
		if dm.Unmarshal(b, &v) != nil {
			return
		}
		want, ok := jsonLike(v)
		if !ok {
			return
		}
		checkDecodesAs(t, b, want)
	})
}
