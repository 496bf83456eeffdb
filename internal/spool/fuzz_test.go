package spool

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRecover opens a spool whose segment file holds arbitrary bytes: Open
// never panics, and when it succeeds the spool works and survives a reopen.
func FuzzRecover(f *testing.F) {
	valid := []byte(segMagic)
	valid = appendRecord(valid, 1, []byte("hello"))
	valid = appendRecord(valid, 2, nil)
	valid = appendRecord(valid, 3, []byte("world"))
	f.Add(valid)
	f.Add(valid[:len(valid)-3])
	f.Add(valid[:segHeaderLen+recHeaderLen-1])
	f.Add([]byte{})
	f.Add([]byte(segMagic))
	f.Add(append([]byte(segMagic), 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 0, 0, 0, 0))
	f.Add(appendRecord([]byte(segMagic), 7, []byte("stale")))
	f.Add(append(valid, make([]byte, 64)...))

	f.Fuzz(func(t *testing.T, data []byte) {
		o := Options{SegmentBytes: 256, Logger: slog.New(slog.DiscardHandler)}

		// As the last segment: a torn tail is dropped.
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, segName(1)), data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(dir, o)
		if err == nil {
			es := peekAll(t, s)
			for i, e := range es {
				if e.Seq != uint64(i+1) {
					t.Fatalf("entry %d has seq %d", i, e.Seq)
				}
			}
			if err := s.Append([]byte("after")); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s, err = Open(dir, o)
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			again := peekAll(t, s)
			if len(again) != len(es)+1 || string(again[len(es)].Data) != "after" {
				t.Fatalf("reopened: %d records, want %d and then %q", len(again), len(es)+1, "after")
			}
			if err := s.Ack(again[len(again)-1].Seq); err != nil {
				t.Fatal(err)
			}
			s.Close()
		}

		// As an older segment: damage is refused, not repaired.
		dir = t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, segName(1)), data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, segName(4)), []byte(segMagic), 0o600); err != nil {
			t.Fatal(err)
		}
		if s, err := Open(dir, o); err == nil {
			peekAll(t, s)
			s.Close()
		}
	})
}
