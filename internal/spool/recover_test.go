package spool

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestTornWrite damages the end of the last segment the way a crash
// mid-write does: Open keeps the records before the damage, drops the rest,
// and appends continue from there.
func TestTornWrite(t *testing.T) {
	recs := []string{rec("r1", 20), rec("r2", 20), rec("r3", 20), rec("r4", 20)}
	const recLen = recHeaderLen + 20
	const full = segHeaderLen + 4*recLen // bytes of the intact segment
	tests := []struct {
		name   string
		damage func(b []byte) []byte
		keep   int // records that survive
	}{
		{"header cut", func(b []byte) []byte { return b[:full-recLen+5] }, 3},
		{"data cut", func(b []byte) []byte { return b[:full-3] }, 3},
		{"only the checksum", func(b []byte) []byte { return b[:full-recLen+4] }, 3},
		{"checksum mismatch", func(b []byte) []byte { b[full-1] ^= 1; return b }, 3},
		{"length past the end", func(b []byte) []byte { b[full-recLen+7] = 0x7f; return b }, 3},
		{"stale seq", func(b []byte) []byte {
			return appendRecord(b[:full-recLen], 99, []byte(recs[3])) // valid checksum, wrong place
		}, 3},
		{"zeros after the last record", func(b []byte) []byte { return append(b, make([]byte, 4096)...) }, 4},
		{"garbage after the last record", func(b []byte) []byte { return append(b, "garbage, not a record"...) }, 4},
		{"damage before the last record", func(b []byte) []byte { b[segHeaderLen+recLen+20] ^= 0x80; return b }, 1},
		{"first record cut", func(b []byte) []byte { return b[:segHeaderLen+10] }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openSpool(t, dir, Options{})
			appendStrings(t, s, recs...)
			s.Close()
			path := filepath.Join(dir, segName(1))
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(b)) != full {
				t.Fatalf("segment of %d bytes, want %d", len(b), full)
			}
			if err := os.WriteFile(path, tt.damage(b), 0o600); err != nil {
				t.Fatal(err)
			}

			var logs logBuffer
			s = openSpool(t, dir, Options{Logger: logs.logger()})
			wantEntries(t, peekAll(t, s), 1, recs[:tt.keep]...)
			if fi, err := os.Stat(path); err != nil || fi.Size() != segHeaderLen+int64(tt.keep)*recLen {
				t.Errorf("segment not truncated to its intact records: %v, %v", fi.Size(), err)
			}
			if !strings.Contains(logs.String(), "torn") {
				t.Errorf("recovery logged no warning:\n%s", logs.String())
			}
			appendStrings(t, s, "next")
			s = reopen(t, s)
			wantEntries(t, peekAll(t, s), 1, append(slices.Clone(recs[:tt.keep]), "next")...)
		})
	}
}

// TestTornSegmentHeader: a crash while a new segment was being created
// leaves it empty or with part of its magic. It is the last segment, holds
// no records, and is rewritten.
func TestTornSegmentHeader(t *testing.T) {
	for _, content := range []string{"", "CAI", "\x00\x00\x00\x00\x00\x00\x00\x00"} {
		t.Run(fmt.Sprintf("%q", content), func(t *testing.T) {
			dir := t.TempDir()
			s := openSpool(t, dir, Options{})
			appendStrings(t, s, "r1", "r2")
			s.Close()
			if err := os.WriteFile(filepath.Join(dir, segName(3)), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			s = openSpool(t, dir, Options{})
			appendStrings(t, s, "r3")
			wantEntries(t, peekAll(t, s), 1, "r1", "r2", "r3")
			if got, want := segFiles(t, dir), []string{segName(1), segName(3)}; !slices.Equal(got, want) {
				t.Errorf("segments = %v, want %v", got, want)
			}
		})
	}
}

// TestRefuseDamage: damage that is not a torn tail would lose records that
// an Append reported stored, so Open refuses it, names it, and changes
// nothing on disk.
func TestRefuseDamage(t *testing.T) {
	const recLen = recHeaderLen + 20
	seg1 := func(dir string) string { return filepath.Join(dir, segName(1)) }
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
		want   string // in the error
	}{
		{"checksum in an older segment", func(t *testing.T, dir string) {
			editFile(t, seg1(dir), func(b []byte) []byte { b[len(b)-1] ^= 1; return b })
		}, segName(1)},
		{"older segment cut mid-record", func(t *testing.T, dir string) {
			editFile(t, seg1(dir), func(b []byte) []byte { return b[:len(b)-3] })
		}, segName(1)},
		{"older segment cut at a record boundary", func(t *testing.T, dir string) {
			editFile(t, seg1(dir), func(b []byte) []byte { return b[:len(b)-recLen] })
		}, "missing"},
		{"older segment without magic", func(t *testing.T, dir string) {
			editFile(t, seg1(dir), func(b []byte) []byte { copy(b, "XXXXXXXX"); return b })
		}, "magic"},
		{"segment deleted", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, segName(3))); err != nil {
				t.Fatal(err)
			}
		}, "missing"},
		{"ack file corrupt", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, ackName), []byte("12x\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "ack file"},
		{"ack beyond the last record", func(t *testing.T, dir string) {
			if err := writeAck(dir, 7); err != nil {
				t.Fatal(err)
			}
		}, "ends at 6"},
		{"unacknowledged segment deleted", func(t *testing.T, dir string) {
			if err := os.Remove(seg1(dir)); err != nil {
				t.Fatal(err)
			}
		}, "records 1 to 2 are missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openSpool(t, dir, Options{SegmentBytes: 100})
			for i := 1; i <= 6; i++ {
				appendStrings(t, s, rec(fmt.Sprint("r", i), 20))
			}
			s.Close()
			tt.damage(t, dir)
			before := dirContents(t, dir)
			s2, err := Open(dir, Options{SegmentBytes: 100, Logger: slog.New(slog.DiscardHandler)})
			if err == nil {
				s2.Close()
				t.Fatal("Open: no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open: %v, want an error mentioning %q", err, tt.want)
			}
			if after := dirContents(t, dir); !equalContents(before, after) {
				t.Errorf("Open changed the files it refused")
			}
		})
	}
}

// editFile replaces the contents of path with edit(contents).
func editFile(t *testing.T, path string, edit func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, edit(b), 0o600); err != nil {
		t.Fatal(err)
	}
}

// dirContents returns the contents of the segment and ack files in dir.
func dirContents(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == lockName {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = b
	}
	return m
}

func equalContents(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}
