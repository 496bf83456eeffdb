package segment

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestCreate(t *testing.T) {
	dir := t.TempDir()
	f, err := seqFormat.Create(dir, 5, false)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if b, err := os.ReadFile(filepath.Join(dir, Name(5))); err != nil || string(b) != seqFormat.Magic {
		t.Fatalf("new segment holds %q, %v", b, err)
	}
	if _, err := seqFormat.Create(dir, 5, false); err == nil {
		t.Fatal("Create without replace overwrote a segment")
	}
	if err := os.WriteFile(filepath.Join(dir, Name(9)), []byte("old bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err = lenFormat.Create(dir, 9, true)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if fi, err := os.Stat(filepath.Join(dir, Name(9))); err != nil || fi.Size() != 0 {
		t.Fatalf("replaced segment: %v, %v", fi, err)
	}
	if _, err := seqFormat.Create(filepath.Join(dir, "missing"), 1, false); err == nil {
		t.Fatal("Create in a missing directory")
	}
}

func TestList(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{Name(10), Name(2), "ack", "00000000000000000003.tmp", "x.seg"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, Name(4)), 0o700); err != nil {
		t.Fatal(err)
	}
	got, err := List(dir)
	if err != nil || !slices.Equal(got, []uint64{2, 10}) {
		t.Fatalf("List = %v, %v", got, err)
	}
}

func TestMagic(t *testing.T) {
	path := filepath.Join(t.TempDir(), Name(1))
	if err := os.WriteFile(path, []byte("CAIRN"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if ok, err := seqFormat.HasMagic(f); ok || err != nil {
		t.Fatalf("torn magic: %v, %v", ok, err)
	}
	if ok, err := lenFormat.HasMagic(f); !ok || err != nil {
		t.Fatalf("a format without magic: %v, %v", ok, err)
	}
	if err := seqFormat.Reset(f); err != nil {
		t.Fatal(err)
	}
	if ok, err := seqFormat.HasMagic(f); !ok || err != nil {
		t.Fatalf("after Reset: %v, %v", ok, err)
	}
	if fi, _ := f.Stat(); fi.Size() != int64(len(seqFormat.Magic)) {
		t.Fatalf("after Reset: %d bytes", fi.Size())
	}
}

// TestWriteAtEnd: Write puts frames at the given end, over whatever a
// failed write left there.
func TestWriteAtEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), Name(1))
	b, _ := frames(lenFormat, "a")
	if err := os.WriteFile(path, append(b, "leftover"...), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := Write(f, int64(len(b)), lenFormat.Append(nil, 2, []byte("b"))); err != nil {
		t.Fatal(err)
	}
	if err := Cut(f, int64(len(b))+int64(lenFormat.HeaderLen)+1); err != nil {
		t.Fatal(err)
	}
	all, _ := os.ReadFile(path)
	got, _, _, err := scanAll(lenFormat, all)
	if err != nil || len(got) != 2 || got[1] != "b" {
		t.Fatalf("after Write: %q, %v", got, err)
	}
	ro, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := Write(ro, 0, []byte("x")); err == nil {
		t.Fatal("Write to a read-only file succeeded")
	}
}

// TestWriteInPieces: frames longer than one write piece land whole, in
// order, at end, whatever the piece boundaries cut through.
func TestWriteInPieces(t *testing.T) {
	path := filepath.Join(t.TempDir(), Name(1))
	head, _ := frames(lenFormat, "a")
	if err := os.WriteFile(path, head, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var big []byte
	var want []string
	for i := range 3 {
		p := make([]byte, writePiece-5+i*writePiece/3)
		for j := range p {
			p[j] = byte('a' + (i+j)%26)
		}
		big = lenFormat.Append(big, uint64(i+2), p)
		want = append(want, string(p))
	}
	if len(big) <= 2*writePiece {
		t.Fatalf("test frames of %d bytes do not span three pieces", len(big))
	}
	if err := Write(f, int64(len(head)), big); err != nil {
		t.Fatal(err)
	}
	all, _ := os.ReadFile(path)
	got, _, _, err := scanAll(lenFormat, all)
	if err != nil || len(got) != 4 || got[0] != "a" || !slices.Equal(got[1:], want) {
		t.Fatalf("after a Write in pieces: %d frames, %v", len(got), err)
	}
}
