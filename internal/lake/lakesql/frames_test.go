package lakesql

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
)

// blocksDir holds a block's stored bytes as each format wrote them: v1 (one
// zstd frame of the whole block, the code before frames, 360c192) and v2
// (in frames). TestGenerateBlockFixtures wrote them, run with
// CAIRN_WRITE_LAKE_BLOCKS set to the directory: v1.bin on the code before
// frames (that test and fixtureBlock alone), v2.bin on the code after.
const blocksDir = "testdata/blocks"

// fixtureBlock is the block of the fixtures: 60 records of 200 B to 3 KB
// (about 95 KB, several frames), slot 17 removed (as retention leaves a
// record), eventTimes a minute apart from 2026-01-01.
func fixtureBlock() *block {
	b := &block{id: 1}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for i := range 60 {
		var rec []byte
		if i != 17 {
			rec = fixtureRecord(i)
		}
		b.add(rec, t0+int64(i)*60000)
	}
	return b
}

// fixtureRecord is record i of fixtureBlock.
func fixtureRecord(i int) []byte {
	return fmt.Appendf(nil, `{"eventVersion":"1.11","eventID":"ev-%02d","eventName":"Get%d","sourceIPAddress":"10.0.0.%d","requestParameters":{"bucketName":"b%d","key":%q}}`,
		i, i%7, i, i%3, strings.Repeat(fmt.Sprint(i%10), 200+(i*397)%2800))
}

// TestGenerateBlockFixtures writes fixtureBlock's stored bytes as this
// code compresses it to $CAIRN_WRITE_LAKE_BLOCKS/<version>.bin (see
// blocksDir); without the variable it checks they read back.
func TestGenerateBlockFixtures(t *testing.T) {
	c, err := newCodec()
	if err != nil {
		t.Fatal(err)
	}
	data := c.compress(fixtureBlock())
	if dir := os.Getenv("CAIRN_WRITE_LAKE_BLOCKS"); dir != "" {
		name := "v1.bin"
		if data[0] == framedTag {
			name = "v2.bin"
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	checkFixtureBlock(t, "compressed now", data)
}

// checkFixtureBlock reads every slot of data, which must hold
// fixtureBlock, the whole block and slot by slot.
func checkFixtureBlock(t *testing.T, name string, data []byte) {
	t.Helper()
	want := fixtureBlock()
	d, err := decodeAll(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !slices.Equal(d.times, want.times) {
		t.Fatalf("%s: times %v, want %v", name, d.times, want.times)
	}
	for i := range want.times {
		wantRec := want.body[want.start(i):want.ends[i]]
		if !bytes.Equal(d.recs[i], wantRec) || (d.recs[i] == nil) != (len(wantRec) == 0) {
			t.Fatalf("%s: slot %d: %.40q, want %.40q", name, i, d.recs[i], wantRec)
		}
		f, err := locate(data, i)
		if err != nil || f.data == nil {
			t.Fatalf("%s: slot %d in no frame (%v)", name, i, err)
		}
		fd, err := frameRecs(f, decompress)
		if err != nil {
			t.Fatalf("%s: slot %d: %v", name, i, err)
		}
		if got := slotRec(fd, i-f.first); got != nil && got.(string) != string(wantRec) || got == nil && len(wantRec) > 0 {
			t.Fatalf("%s: slot %d read alone: %.40q", name, i, got)
		}
	}
	if v, err := (&queryEntry{data: data}).rec(len(want.times)); err != nil || v != nil {
		t.Fatalf("%s: a slot past the block: %v, %v", name, v, err)
	}
}

// TestBlockFormats: a block each format wrote (testdata/blocks) reads back
// whole and slot by slot; in v2 a slot's read decodes its frame only,
// about frameBytes of the block's ~95 KB.
func TestBlockFormats(t *testing.T) {
	for _, name := range []string{"v1.bin", "v2.bin"} {
		data, err := os.ReadFile(filepath.Join(blocksDir, name))
		if err != nil {
			t.Fatal(err)
		}
		checkFixtureBlock(t, name, data)
	}
	data, err := os.ReadFile(filepath.Join(blocksDir, "v2.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if data[0] != framedTag {
		t.Fatalf("v2.bin starts with %#x", data[0])
	}
	whole := len(fixtureBlock().body)
	for _, slot := range []int{0, 30, 59} {
		f, err := locate(data, slot)
		if err != nil {
			t.Fatal(err)
		}
		before := bytesDecoded.Load()
		if _, err := decompress(f.data); err != nil {
			t.Fatal(err)
		}
		if n := bytesDecoded.Load() - before; n > 24<<10 || n*4 > int64(whole) {
			t.Errorf("slot %d: %d bytes decoded of a block of %d", slot, n, whole)
		}
	}
}

// TestFramesRoundTrip: blocks of random records (sizes from a few bytes to
// past a frame, some removed, up to a full block) read back as written,
// each frame holding about frameBytes of records at most (one record
// more), and a block of no records holds none.
func TestFramesRoundTrip(t *testing.T) {
	c, err := newCodec()
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 200 {
		b := &block{id: 1}
		for !b.full() && (round%5 != 0 || len(b.times) < round%7) {
			var rec []byte
			if r.IntN(10) > 0 {
				n := 1 + r.IntN(2000)
				if r.IntN(30) == 0 {
					n = frameBytes + r.IntN(frameBytes)
				}
				rec = bytes.Repeat([]byte{byte('a' + r.IntN(26))}, n)
			}
			b.add(rec, r.Int64N(1<<41)-1<<40)
		}
		data := c.compress(b)
		d, err := decodeAll(data)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if len(d.recs) != len(b.times) || len(b.times) > 0 && !slices.Equal(d.times, b.times) {
			t.Fatalf("round %d: %d slots back of %d", round, len(d.recs), len(b.times))
		}
		for i := range b.times {
			if !bytes.Equal(d.recs[i], b.body[b.start(i):b.ends[i]]) {
				t.Fatalf("round %d: slot %d differs", round, i)
			}
		}
		for slot := 0; slot < len(b.times); {
			f, err := locate(data, slot)
			if err != nil || f.data == nil || f.first != slot {
				t.Fatalf("round %d: frame of slot %d: %+v, %v", round, slot, f, err)
			}
			end := slot + f.slots
			if raw := b.start(end) - b.start(slot); f.slots > 1 && raw-(b.ends[end-1]-b.start(end-1)) >= frameBytes {
				t.Fatalf("round %d: a frame of %d slots, %d bytes", round, f.slots, raw)
			}
			slot = end
		}
	}
}

// FuzzBlockBytes: whatever a block's stored bytes are, reading them neither
// panics nor returns an error other than a damaged block; a v2 block read
// whole and slot by slot gives the same records.
func FuzzBlockBytes(f *testing.F) {
	for _, name := range []string{"v1.bin", "v2.bin"} {
		data, err := os.ReadFile(filepath.Join(blocksDir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	c, err := newCodec()
	if err != nil {
		f.Fatal(err)
	}
	small := &block{id: 1}
	small.add([]byte(`{"a":1}`), 5)
	small.add(nil, 6)
	f.Add(c.compress(small))
	f.Add([]byte{framedTag, 2, 1, 3, 1, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		all, errAll := decodeAll(data)
		if errAll != nil && !errors.Is(errAll, errBadBlock) {
			t.Fatalf("decodeAll: %v", errAll)
		}
		e := &queryEntry{data: data}
		for slot := range blockSlots + 1 {
			f, err := locate(data, slot)
			if err != nil {
				if !errors.Is(err, errBadBlock) {
					t.Fatalf("locate %d: %v", slot, err)
				}
				return
			}
			if f.data == nil {
				return // past the block's slots
			}
			v, err := e.rec(slot)
			if err != nil {
				if !errors.Is(err, errBadBlock) {
					t.Fatalf("slot %d: %v", slot, err)
				}
				return // a damaged frame: each slot of it would only fail again
			}
			if errAll == nil && slot < len(all.recs) {
				if want := slotRec(all, slot); v != want {
					t.Fatalf("slot %d: %v read alone, %v read whole", slot, v, want)
				}
			}
			if f.slots < 0 && slot >= len(e.frames[0].recs) {
				return // a block of one frame, read past its slots
			}
		}
	})
}

// TestV1BlocksRead: a lake.db holding blocks of both formats (one written
// before the frames, as an earlier version's store holds them) answers
// queries from both, by either way of reading records, and retention
// writes the earlier block again in frames.
func TestV1BlocksRead(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	v1, err := os.ReadFile(filepath.Join(blocksDir, "v1.bin"))
	if err != nil {
		t.Fatal(err)
	}
	v2 := db.codec.compress(fixtureBlock())
	if _, err := db.w.Exec(`INSERT INTO lake_stores(num, store) VALUES (1, 's1')`); err != nil {
		t.Fatal(err)
	}
	b := fixtureBlock()
	for blk, data := range map[int64][]byte{1: v1, 2: v2} {
		if _, err := db.w.Exec(insertBlockSQL, blk, 1, b.times[0], b.times[len(b.times)-1], data); err != nil {
			t.Fatal(err)
		}
		for i, tm := range b.times {
			if i == 17 {
				continue
			}
			if _, err := db.w.Exec(insertRowSQL, 1, fmt.Sprintf("b%d-%02d", blk, i), tm+blk, 100, fmt.Sprint("Get", i%7), "s3.amazonaws.com",
				"us-east-1", nil, "1", blk<<slotBits|int64(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	run := func(q string) [][]string {
		t.Helper()
		st, err := Parse(q)
		if err != nil {
			t.Fatal(err)
		}
		res, err := db.Run(ctx, st, RunOptions{Stores: map[string]string{"EDS": "s1"}, MaxRows: 1000})
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var out [][]string
		for _, r := range res.Rows {
			var row []string
			for _, v := range r {
				row = append(row, *v)
			}
			out = append(out, row)
		}
		return out
	}
	// lake_rec: every row's record, from both blocks.
	rows := run(`SELECT sourceIPAddress, element_at(requestParameters, 'bucketName') FROM EDS ORDER BY eventTime, sourceIPAddress`)
	if len(rows) != 2*59 {
		t.Fatalf("%d rows, want %d", len(rows), 2*59)
	}
	for k, r := range rows {
		i := k / 2
		if i >= 17 {
			i++
		}
		if r[0] != fmt.Sprintf("10.0.0.%d", i) || r[1] != fmt.Sprintf("b%d", i%3) {
			t.Fatalf("row %d: %v, want slot %d's", k, r, i)
		}
	}
	// The block-order path (a record field in WHERE, grouped).
	got := run(`SELECT eventName, count(*) FROM EDS WHERE element_at(requestParameters, 'bucketName') = 'b1' GROUP BY 1 ORDER BY 1`)
	want := map[string]int{}
	for i := range 60 {
		if i != 17 && i%3 == 1 {
			want[fmt.Sprint("Get", i%7)] += 2
		}
	}
	if len(got) != len(want) {
		t.Fatalf("grouped: %v, want %v", got, want)
	}
	for _, r := range got {
		if r[1] != fmt.Sprint(want[r[0]]) {
			t.Fatalf("grouped: %v, want %v", got, want)
		}
	}
	// Retention keeps slots 30 on, and writes block 1 in frames.
	if _, err := db.DeleteBefore(ctx, "s1", time.UnixMilli(b.times[30])); err != nil {
		t.Fatal(err)
	}
	var data []byte
	if err := db.w.QueryRow(`SELECT data FROM lake_blocks WHERE id = 1`).Scan(&data); err != nil {
		t.Fatal(err)
	}
	if data[0] != framedTag {
		t.Errorf("block 1 after retention starts with %#x, not in frames", data[0])
	}
	if rows := run(`SELECT sourceIPAddress FROM EDS WHERE eventTime >= '2026-01-01 00:30:00' ORDER BY eventTime, sourceIPAddress`); len(rows) != 60 || rows[0][0] != "10.0.0.30" {
		t.Fatalf("after retention: %d rows, first %v", len(rows), rows[:min(1, len(rows))])
	}
}

// TestNeedleOverLiveFill: a store filled live at a low rate (many small
// Inserts, each holding one event of each user: a user's events lie one
// to a block) answers a needle query by decoding about a frame per row,
// not the whole block of each row. Before the frames each row decoded
// its block's ~100 KB.
func TestNeedleOverLiveFill(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const passes, users = 40, 90
	pad := strings.Repeat("x", 1000) // ~1.1 KB records: a pass is a ~100 KB block
	var want []string
	for p := range passes {
		var evs []*event.Event
		for u := range users {
			at := t0.Add(time.Duration(p*users+u) * time.Second)
			rec := fmt.Sprintf(`{"eventVersion":"1.11","userIdentity":{"arn":"arn:aws:iam::1:user/u%d"},"eventName":"E%d","requestParameters":{"n":"%d-%d"},"eventTime":%q,"pad":%q}`,
				u, p, p, u, at.Format(time.RFC3339), pad)
			evs = append(evs, &event.Event{ID: fmt.Sprintf("id-%d-%d", p, u), Time: at, Record: []byte(rec)})
			if u == 7 {
				want = append(want, fmt.Sprintf("%s E%d {n=%d-7}", at.Format("2006-01-02 15:04:05.000"), p, p))
			}
		}
		if err := db.Insert(ctx, "s1", evs); err != nil {
			t.Fatal(err)
		}
	}
	st, err := Parse(`SELECT eventTime, eventName, requestParameters FROM EDS WHERE userIdentity.arn = 'arn:aws:iam::1:user/u7' ORDER BY eventTime`)
	if err != nil {
		t.Fatal(err)
	}
	before := bytesDecoded.Load()
	res, err := db.Run(ctx, st, RunOptions{Stores: map[string]string{"EDS": "s1"}, MaxRows: 1000})
	if err != nil {
		t.Fatal(err)
	}
	decoded := bytesDecoded.Load() - before
	var got []string
	for _, r := range res.Rows {
		got = append(got, *r[0]+" "+*r[1]+" "+*r[2])
	}
	if !slices.Equal(got, want) {
		t.Fatalf("needle: %q…, want %q…", got[:min(2, len(got))], want[:2])
	}
	// A frame of ~16 KB a row; a block's ~100 KB before.
	if perRow := decoded / passes; perRow > 24<<10 {
		t.Errorf("needle decoded %d bytes a row (a pass's block holds %d)", perRow, users*(len(pad)+150))
	}
}

// TestEarlierBlocksReframed: a lake.db whose blocks are all of the format
// before frames (as an earlier version left it: no marks of the frames
// either) answers the same at once after Open, and Open writes its blocks
// again in frames in the background, more than one transaction's worth;
// blocks written after the first Open are never read for it again.
func TestEarlierBlocksReframed(t *testing.T) {
	path, want, n := earlierBlocks(t)
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := ipsOf(t, db, "s1"); !maps.Equal(got, want) {
		t.Fatalf("earlier blocks: %d events read, want %d", len(got), len(want))
	}
	waitReframed(t, db) // done: every block looked at
	if err := db.ReframeErr(); err != nil {
		t.Fatal(err)
	}
	var unframed, marked int64
	if err := db.w.QueryRow(`SELECT count(*) FROM lake_blocks WHERE substr(data, 1, 1) <> x'01'`).Scan(&unframed); err != nil {
		t.Fatal(err)
	}
	if err := db.w.QueryRow(`SELECT seq FROM lake_marks WHERE name = ?`, framedMark).Scan(&marked); err != nil {
		t.Fatal(err)
	}
	if unframed != 0 || marked != int64(n) {
		t.Fatalf("after Open: %d blocks not in frames, framed up to %d of %d", unframed, marked, n)
	}
	if got := ipsOf(t, db, "s1"); !maps.Equal(got, want) {
		t.Fatalf("blocks written again: %d events read, want %d", len(got), len(want))
	}
	// A later block of the earlier format (as if written by the earlier
	// version after this one opened the file) is not looked for: the
	// file's blocks are read for it once.
	more := blockEvents("M", 1, t0.Add(time.Hour*24))
	if err := db.Insert(ctx, "s1", more); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = Open(path); err != nil {
		t.Fatal(err)
	}
	waitReframed(t, db)
	var to int64
	if err := db.w.QueryRow(`SELECT seq FROM lake_marks WHERE name = ?`, framedToMark).Scan(&to); err != nil || to != int64(n) {
		t.Fatalf("framed-to %d, %v; want %d", to, err, n)
	}
}

// TestReframeErrorReported: when rewriting the earlier blocks fails, the
// error is kept for the server to log (ReframeErr), the blocks still read
// as they are, and the next Open takes the rewriting up again.
func TestReframeErrorReported(t *testing.T) {
	path, want, _ := earlierBlocks(t)
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	// Every rewrite of a block fails from here (before the first batch,
	// which waits for the one writer connection).
	if _, err := db.w.Exec(`CREATE TEMP TRIGGER no_rewrite BEFORE UPDATE ON lake_blocks BEGIN SELECT RAISE(ABORT, 'no rewrite here'); END`); err != nil {
		t.Fatal(err)
	}
	waitReframed(t, db)
	if err := db.ReframeErr(); err == nil || !strings.Contains(err.Error(), "no rewrite here") {
		t.Fatalf("ReframeErr: %v, want the trigger's error", err)
	}
	if got := ipsOf(t, db, "s1"); !maps.Equal(got, want) {
		t.Fatalf("after a failed rewrite: %d events read, want %d", len(got), len(want))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = Open(path); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	waitReframed(t, db)
	var unframed int64
	if err := db.w.QueryRow(`SELECT count(*) FROM lake_blocks WHERE substr(data, 1, 1) <> x'01'`).Scan(&unframed); err != nil || unframed != 0 {
		t.Fatalf("after the next Open: %d blocks not in frames, %v; ReframeErr %v", unframed, err, db.ReframeErr())
	}
}

// earlierBlocks writes a lake.db whose blocks are of the format before
// frames (one zstd frame each, as the earlier version wrote them) and
// returns its path, the events' source addresses by ID, and the number of
// blocks.
func earlierBlocks(t *testing.T) (string, map[string]string, int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lake.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	evs := blockEvents("E", 3*reframeBatch, t0)
	for i := range evs {
		if err := db.Insert(ctx, "s1", evs[i:i+1]); err != nil { // a block each
			t.Fatal(err)
		}
	}
	want := ipsOf(t, db, "s1")
	// Each block as the earlier version wrote it: one zstd frame.
	rows, err := db.w.Query(`SELECT id, data FROM lake_blocks`)
	if err != nil {
		t.Fatal(err)
	}
	earlier := map[int64][]byte{}
	for rows.Next() {
		var id int64
		var data []byte
		if err := rows.Scan(&id, &data); err != nil {
			t.Fatal(err)
		}
		d, err := decodeAll(data)
		if err != nil {
			t.Fatal(err)
		}
		b := &block{id: id}
		for i, tm := range d.times {
			b.add(d.recs[i], tm)
		}
		earlier[id] = db.codec.enc.EncodeAll(b.encode(nil, 0, len(b.times)), nil)
	}
	rows.Close()
	for id, data := range earlier {
		if _, err := db.w.Exec(`UPDATE lake_blocks SET data = ? WHERE id = ?`, data, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.w.Exec(`DELETE FROM lake_marks WHERE name LIKE 'blocks/%'`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path, want, len(earlier)
}

// waitReframed waits for db's background rewriting of earlier blocks to end.
func waitReframed(t *testing.T, db *DB) {
	t.Helper()
	select {
	case <-db.reframed:
	case <-time.After(time.Minute):
		t.Fatal("the earlier blocks are still being written again after a minute")
	}
}

// TestDecodeAllBound: a block whose frames decode to more than a block the
// fill writes can hold is refused as damaged instead of decoded whole,
// and the largest block the fill writes still decodes.
func TestDecodeAllBound(t *testing.T) {
	c, err := newCodec()
	if err != nil {
		t.Fatal(err)
	}
	huge := &block{}
	for i := range 4 {
		huge.add(bytes.Repeat([]byte{'a' + byte(i)}, 2<<20), int64(i)) // a frame each
	}
	if _, err := decodeAll(c.compress(huge)); !errors.Is(err, errBadBlock) {
		t.Fatalf("a block of 8 MiB of records: %v, want %v", err, errBadBlock)
	}
	largest := &block{}
	for !largest.full() {
		largest.add(bytes.Repeat([]byte{'x'}, 1000), 1)
	}
	largest.add(bytes.Repeat([]byte{'y'}, 256<<10), 2)
	d, err := decodeAll(c.compress(largest))
	if err != nil || len(d.recs) != len(largest.times) {
		t.Fatalf("the largest block the fill writes: %v", err)
	}
}
