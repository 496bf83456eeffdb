package segment

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// frames returns a file of f holding one frame per payload, numbered from
// 1, and where each frame starts.
func frames(f *Format, payloads ...string) ([]byte, []int64) {
	b := []byte(f.Magic)
	var offs []int64
	for i, p := range payloads {
		offs = append(offs, int64(len(b)))
		b = f.Append(b, uint64(i+1), []byte(p))
	}
	return b, offs
}

// scanAll scans a whole file and returns the payloads found, where the
// good frames end, the seq after them and the error.
func scanAll(f *Format, b []byte) ([]string, int64, uint64, error) {
	var got []string
	good, next, err := f.Scan(bytes.NewReader(b), int64(len(f.Magic)), int64(len(b)), 1, func(_ int64, _ uint64, p []byte) error {
		got = append(got, string(p))
		return nil
	})
	return got, good, next, err
}

// TestScanTornTail damages the end of a file the way a crash mid-write
// does: Scan returns the frames before the damage and where they end.
func TestScanTornTail(t *testing.T) {
	recs := []string{"record-1", "record-2", "record-3", "record-4"}
	for name, f := range formats {
		full, offs := frames(f, recs...)
		last := offs[3]
		hl := int64(f.HeaderLen)
		tests := []struct {
			name   string
			damage func(b []byte) []byte
			keep   int // frames that survive
		}{
			{"header cut", func(b []byte) []byte { return b[:last+5] }, 3},
			{"payload cut", func(b []byte) []byte { return b[:len(b)-3] }, 3},
			{"header only", func(b []byte) []byte { return b[:last+hl] }, 3},
			{"checksum mismatch", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, 3},
			{"length past the end", func(b []byte) []byte { b[last+int64(f.LenAt)+3] = 0x7f; return b }, 3},
			{"garbage after the last frame", func(b []byte) []byte { return append(b, "garbage, not a frame"...) }, 4},
			{"damage before the last frame", func(b []byte) []byte { b[offs[1]+hl+2] ^= 0x80; return b }, 1},
			{"first frame cut", func(b []byte) []byte { return b[:offs[0]+3] }, 0},
			{"intact", func(b []byte) []byte { return b }, 4},
		}
		if f.HasSeq() {
			// Without a seq, zeros are empty frames (the CRC of nothing
			// is 0): the payload's decoder must refuse them.
			tests = append(tests, []struct {
				name   string
				damage func(b []byte) []byte
				keep   int
			}{
				{"zeros after the last frame", func(b []byte) []byte { return append(b, make([]byte, 4096)...) }, 4},
				{"stale seq", func(b []byte) []byte { return f.Append(b[:last], 99, []byte(recs[3])) }, 3},
			}...)
		}
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				b := tt.damage(bytes.Clone(full))
				got, good, next, err := scanAll(f, b)
				wantGood := int64(len(full))
				if tt.keep < len(recs) {
					wantGood = offs[tt.keep]
				}
				if fmt.Sprint(got) != fmt.Sprint(recs[:tt.keep]) || good != wantGood || next != uint64(tt.keep+1) {
					t.Fatalf("Scan: %q, good %d, next %d; want %d frames, good %d", got, good, next, tt.keep, wantGood)
				}
				if clean := int64(len(b)) == good; clean != (err == nil) {
					t.Fatalf("Scan error %v with %d bytes after the good frames", err, int64(len(b))-good)
				}
				if err != nil && !IsCorrupt(err) {
					t.Fatalf("Scan error %v, want a *CorruptError", err)
				}
				var c *CorruptError
				if errors.As(err, &c) && c.Off != good {
					t.Errorf("error at offset %d, good frames end at %d", c.Off, good)
				}

				// Cutting the tail leaves a clean file, and appends go on.
				path := filepath.Join(t.TempDir(), Name(1))
				if err := os.WriteFile(path, b, 0o600); err != nil {
					t.Fatal(err)
				}
				file, err := os.OpenFile(path, os.O_RDWR, 0)
				if err != nil {
					t.Fatal(err)
				}
				defer file.Close()
				if err := Cut(file, good); err != nil {
					t.Fatal(err)
				}
				if err := Write(file, good, f.Append(nil, next, []byte("after"))); err != nil {
					t.Fatal(err)
				}
				after, _ := os.ReadFile(path)
				got, _, _, err = scanAll(f, after)
				if err != nil || len(got) != tt.keep+1 || got[tt.keep] != "after" {
					t.Fatalf("after the cut: %q, %v", got, err)
				}
			})
		}
	}
}

// TestScanRefusedFrame: a frame that fn refuses with a *CorruptError ends
// the good frames; another error from fn is passed on.
func TestScanRefusedFrame(t *testing.T) {
	b, offs := frames(lenFormat, "a", "b", "c")
	good, next, err := lenFormat.Scan(bytes.NewReader(b), 0, int64(len(b)), 1, func(_ int64, seq uint64, _ []byte) error {
		if seq == 2 {
			return &CorruptError{Reason: "not the next event"}
		}
		return nil
	})
	var c *CorruptError
	if good != offs[1] || next != 2 || !errors.As(err, &c) || c.Off != offs[1] {
		t.Fatalf("Scan = %d, %d, %v; want %d, 2 and corruption there", good, next, err, offs[1])
	}
	boom := errors.New("boom")
	_, _, err = lenFormat.Scan(bytes.NewReader(b), 0, int64(len(b)), 1, func(int64, uint64, []byte) error { return boom })
	if !errors.Is(err, boom) || IsCorrupt(err) {
		t.Fatalf("Scan = %v, want boom", err)
	}
}

// TestReaderPeeksLength: NextLen sees the next payload's length without
// consuming the frame.
func TestReaderPeeksLength(t *testing.T) {
	b, _ := frames(seqFormat, "hello", "", "world!")
	r := seqFormat.NewReader(bytes.NewReader(b), int64(len(seqFormat.Magic)), int64(len(b)), 1)
	var buf []byte
	for _, want := range []string{"hello", "", "world!"} {
		n, err := r.NextLen()
		if err != nil || n != len(want) {
			t.Fatalf("NextLen = %d, %v; want %d", n, err, len(want))
		}
		start := len(buf)
		if buf, err = r.Next(buf); err != nil || string(buf[start:]) != want {
			t.Fatalf("Next = %q, %v; want %q", buf[start:], err, want)
		}
	}
	if _, err := r.Next(buf); err != io.EOF {
		t.Fatalf("at the end: %v, want io.EOF", err)
	}
	if r.Off() != int64(len(b)) || r.Seq() != 4 {
		t.Fatalf("at the end: off %d, seq %d", r.Off(), r.Seq())
	}
}

// TestReadAt reads a run of frames with one read, and calls a read past
// the end of the file corruption.
func TestReadAt(t *testing.T) {
	b, offs := frames(lenFormat, "one", "two", "three")
	run, err := ReadAt(bytes.NewReader(b), offs[1], int64(len(b))-offs[1])
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(run) > 0 {
		fr, err := lenFormat.Parse(run)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(fr.Payload))
		run = run[fr.Size:]
	}
	if fmt.Sprint(got) != "[two three]" {
		t.Fatalf("run: %q", got)
	}
	if _, err := ReadAt(bytes.NewReader(b), offs[2], int64(len(b))); !IsCorrupt(err) {
		t.Fatalf("read past the end: %v, want corruption", err)
	}
}
