package segment

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"testing"
)

// The two layouts Cairn's logs use: the spool's (magic, CRC first, a seq
// in every header) and the SQLite store's (no magic, length first, the seq
// inside the payload).
var (
	seqFormat = MustFormat(Format{Magic: "CAIRNSP1", HeaderLen: 16, CRCAt: 0, LenAt: 4, SeqAt: 8})
	lenFormat = MustFormat(Format{HeaderLen: 8, LenAt: 0, CRCAt: 4, SeqAt: -1})
	formats   = map[string]*Format{"seq": seqFormat, "len": lenFormat}
)

// TestFrameBytes pins both layouts against an encoder written from their
// descriptions, independently of this package.
func TestFrameBytes(t *testing.T) {
	tab := crc32.MakeTable(crc32.Castagnoli)
	payload := []byte("hello")

	var want []byte
	h := make([]byte, 16)
	binary.LittleEndian.PutUint32(h[4:], uint32(len(payload)))
	binary.LittleEndian.PutUint64(h[8:], 7)
	binary.LittleEndian.PutUint32(h[0:], crc32.Checksum(append(h[4:16:16], payload...), tab))
	want = append(append(want, h...), payload...)
	if got := seqFormat.Append(nil, 7, payload); !bytes.Equal(got, want) {
		t.Errorf("seq layout:\ngot  %x\nwant %x", got, want)
	}

	want = binary.LittleEndian.AppendUint32(nil, uint32(len(payload)))
	want = binary.LittleEndian.AppendUint32(want, crc32.Checksum(payload, tab))
	want = append(want, payload...)
	if got := lenFormat.Append(nil, 7, payload); !bytes.Equal(got, want) {
		t.Errorf("len layout:\ngot  %x\nwant %x", got, want)
	}
}

// TestGoldenSpoolFrame: the first record of the spool's golden segment
// file (internal/spool/testdata/golden, written before this package) is
// what Append writes.
func TestGoldenSpoolFrame(t *testing.T) {
	const want = "278da710" + "05000000" + "0100000000000000" + "68656c6c6f"
	if got := hex.EncodeToString(seqFormat.Append(nil, 1, []byte("hello"))); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestBeginFinishIsAppend(t *testing.T) {
	for name, f := range formats {
		b := f.Begin([]byte("prefix"))
		b = append(b, "payload"...)
		f.Finish(b[len("prefix"):], 42)
		if want := f.Append([]byte("prefix"), 42, []byte("payload")); !bytes.Equal(b, want) {
			t.Errorf("%s: Begin/Finish %x, Append %x", name, b, want)
		}
	}
}

func TestParse(t *testing.T) {
	for name, f := range formats {
		t.Run(name, func(t *testing.T) {
			frame := f.Append(nil, 9, []byte("payload"))
			run := append(append([]byte(nil), frame...), f.Append(nil, 10, nil)...)
			fr, err := f.Parse(run)
			if err != nil || string(fr.Payload) != "payload" || fr.Size != len(frame) {
				t.Fatalf("Parse = %+v, %v", fr, err)
			}
			if f.HasSeq() && fr.Seq != 9 {
				t.Errorf("seq %d, want 9", fr.Seq)
			}
			if fr, err := f.Parse(run[fr.Size:]); err != nil || len(fr.Payload) != 0 || fr.Size != f.HeaderLen {
				t.Errorf("second frame: %+v, %v", fr, err)
			}
			for _, bad := range [][]byte{
				nil,
				frame[:f.HeaderLen-1],
				frame[:len(frame)-1],
				flip(frame, len(frame)-1),
				flip(frame, f.CRCAt),
				flip(frame, f.LenAt),
			} {
				if _, err := f.Parse(bad); !IsCorrupt(err) {
					t.Errorf("Parse(%x) = %v, want corrupt", bad, err)
				}
			}
			if f.HasSeq() {
				if _, err := f.Parse(flip(frame, f.SeqAt)); !IsCorrupt(err) {
					t.Errorf("a changed seq passes the CRC: %v", err)
				}
				if _, err := f.Parse(make([]byte, 64)); !IsCorrupt(err) {
					t.Errorf("zeros parse as a frame: %v", err)
				}
			} else if fr, err := f.Parse(make([]byte, 64)); err != nil || len(fr.Payload) != 0 {
				// The CRC of nothing is 0: zeros are an empty frame, which
				// the payload's decoder must refuse.
				t.Errorf("zeros: %+v, %v; want an empty frame", fr, err)
			}
		})
	}
}

// flip returns a copy of b with one bit of byte i changed.
func flip(b []byte, i int) []byte {
	b = bytes.Clone(b)
	b[i] ^= 0x10
	return b
}

func TestValidate(t *testing.T) {
	for _, f := range []Format{
		{HeaderLen: 8, LenAt: 0, CRCAt: 2, SeqAt: -1},  // overlap
		{HeaderLen: 8, LenAt: 0, CRCAt: 4, SeqAt: 4},   // seq over the CRC
		{HeaderLen: 12, LenAt: 0, CRCAt: 4, SeqAt: 8},  // seq past the end
		{HeaderLen: 4, LenAt: 0, CRCAt: 4, SeqAt: -1},  // CRC past the end
		{HeaderLen: 80, LenAt: 0, CRCAt: 4, SeqAt: -1}, // too long
		{HeaderLen: 8, LenAt: -1, CRCAt: 4, SeqAt: -1},
	} {
		if err := f.Validate(); err == nil {
			t.Errorf("%+v: valid", f)
		}
	}
	for name, f := range formats {
		if err := f.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestName (moved from the spool with the naming code) pins segment file
// names.
func TestName(t *testing.T) {
	if got := Name(42); got != "00000000000000000042.seg" {
		t.Errorf("Name(42) = %q", got)
	}
	if got := Name(^uint64(0)); got != "18446744073709551615.seg" {
		t.Errorf("Name(max) = %q", got)
	}
	for name, want := range map[string]bool{
		"00000000000000000042.seg":  true,
		"18446744073709551615.seg":  true,
		"99999999999999999999.seg":  false, // overflows uint64
		"0000000000000000042.seg":   false,
		"000000000000000000042.seg": false,
		"0000000000000000004x.seg":  false,
		"+0000000000000000042.seg":  false,
		"-0000000000000000042.seg":  false,
		"00000000000000000042.tmp":  false,
		"ack":                       false,
	} {
		first, ok := ParseName(name)
		if ok != want || ok && Name(first) != name {
			t.Errorf("ParseName(%q) = %d, %v", name, first, ok)
		}
	}
}
