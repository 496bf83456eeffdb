package segment

import (
	"bytes"
	"testing"
)

// FuzzReader reads arbitrary bytes as a file of each format: Scan never
// panics; the frames it accepts are exactly what Append writes for their
// payloads, so the good part is a valid file; Parse agrees with the Reader
// frame by frame; and whatever follows the good frames is reported.
func FuzzReader(f *testing.F) {
	for _, fm := range formats {
		valid, _ := frames(fm, "hello", "", "world")
		f.Add(valid)
		f.Add(valid[:len(valid)-3])
		f.Add(append(bytes.Clone(valid), make([]byte, 64)...))
		f.Add([]byte(fm.Magic))
		f.Add(fm.Append([]byte(fm.Magic), 7, []byte("stale")))
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		for name, fm := range formats {
			start := int64(len(fm.Magic))
			if int64(len(data)) < start {
				continue
			}
			var payloads [][]byte
			var offs []int64
			good, next, err := fm.Scan(bytes.NewReader(data), start, int64(len(data)), 1, func(off int64, seq uint64, p []byte) error {
				if seq != uint64(len(payloads)+1) {
					t.Fatalf("%s: frame %d has seq %d", name, len(payloads)+1, seq)
				}
				payloads = append(payloads, bytes.Clone(p))
				offs = append(offs, off)
				return nil
			})
			if good < start || good > int64(len(data)) || next != uint64(len(payloads)+1) {
				t.Fatalf("%s: good %d of %d, next %d after %d frames", name, good, len(data), next, len(payloads))
			}
			if (err == nil) != (good == int64(len(data))) || err != nil && !IsCorrupt(err) {
				t.Fatalf("%s: error %v with good %d of %d", name, err, good, len(data))
			}
			re := bytes.Clone(data[:start]) // Scan does not look at the magic
			for i, p := range payloads {
				if int64(len(re)) != offs[i] {
					t.Fatalf("%s: frame %d at %d, re-encoded at %d", name, i+1, offs[i], len(re))
				}
				if fm.HasSeq() {
					re = fm.Append(re, uint64(i+1), p)
				} else {
					// The length and CRC are all a header holds.
					re = fm.Append(re, 0, p)
				}
			}
			if !bytes.Equal(re, data[:good]) {
				t.Fatalf("%s: good frames %x, re-encoded %x", name, data[:good], re)
			}
			rest := data[start:good]
			for i := range payloads {
				fr, err := fm.Parse(rest)
				if err != nil || !bytes.Equal(fr.Payload, payloads[i]) {
					t.Fatalf("%s: Parse of frame %d: %v", name, i+1, err)
				}
				rest = rest[fr.Size:]
			}
		}
	})
}
