package e2e

import (
	"database/sql"
	"encoding/binary"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/cairn-audit/cairn/internal/testutil"
)

// TestLakeSDKNeedleOverLiveFill: a store filled live a few events at a
// time (each user's events one to a record block, as a low-rate live fill
// leaves them) answers a needle query — one user's events in eventTime
// order, with requestParameters from the records — right, through the
// SDK; and after a restart with lake.db as the version before frames left
// it (every block one zstd frame, no marks of the frames), the same, and
// again once the server has written its blocks in frames (which it does
// in the background from the start, so the first answer may read either). The
// blocks are read from the node's lake.db as an operator could; the
// earlier format is written here from its description, not by Cairn.
func TestLakeSDKNeedleOverLiveFill(t *testing.T) {
	srv := Start(t, Options{Config: StandardConfig})
	ct := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	id := lakeStoreID(t, ct, "live")

	const rounds, users = 8, 3
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	user := func(u int) string { return fmt.Sprintf("arn:aws:iam::%s:user/live%d", Account1, u) }
	var want []string // user 1's rows: eventTime, eventName, requestParameters
	for r := range rounds {
		var recs []map[string]any
		for u := range users {
			when := at.Add(time.Duration(r*users+u) * time.Second)
			name := fmt.Sprintf("Live%d_%d", r, u)
			recs = append(recs, Record(name, lakeSource, "us-east-1", when, map[string]any{
				"recipientAccountId": Account1,
				"userIdentity":       map[string]any{"type": "IAMUser", "arn": user(u), "accountId": Account1},
				"requestParameters":  map[string]any{"bucketName": fmt.Sprintf("b-%d-%d", r, u)},
			}))
			if u == 1 {
				want = append(want, fmt.Sprintf("%s %s {bucketName=b-%d-1}", when.Format("2006-01-02 15:04:05.000"), name, r))
			}
		}
		if res := srv.Ingest(t, AdminKey, AdminSecret, recs...); res.Accepted != users {
			t.Fatalf("ingest: %+v", res)
		}
		// The fill takes this round before the next one is sent: a pass,
		// and a block, of its own.
		testutil.WaitFor(t, 30*time.Second, func() (bool, string) {
			n := len(userRefs(t, srv, id, ""))
			return n == (r+1)*users, fmt.Sprintf("%d of our events filled", n)
		})
	}
	refs := userRefs(t, srv, id, user(1))
	blocks := map[int64]bool{}
	for _, ref := range refs {
		blocks[ref>>8] = true
	}
	if len(refs) != rounds || len(blocks) != rounds {
		t.Fatalf("user 1's %d events lie in %d blocks, want %d in %d (one to a pass)", len(refs), len(blocks), rounds, rounds)
	}

	needle := "SELECT eventTime, eventName, requestParameters FROM " + id + " WHERE userIdentity.arn = '" + user(1) + "' ORDER BY eventTime"
	check := func(when string) {
		t.Helper()
		status, rows, _ := sdkQuery(t, ct, needle, 3)
		var got []string
		for _, r := range rows {
			got = append(got, r["eventTime"]+" "+r["eventName"]+" "+r["requestParameters"])
		}
		if status != "FINISHED" || !slices.Equal(got, want) {
			t.Fatalf("%s: %s, rows\n%q\nwant\n%q", when, status, got, want)
		}
	}
	check("blocks in frames")

	srv.Stop(t)
	if n := rewriteBlocksUnframed(t, filepath.Join(srv.DataDir, "lake", "lake.db")); n < rounds {
		t.Fatalf("%d blocks rewritten, want %d at least", n, rounds)
	}
	srv = Start(t, Options{Config: StandardConfig, DataDir: srv.DataDir})
	ct = srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	check("after the restart")
	testutil.WaitFor(t, 60*time.Second, func() (bool, string) {
		n := unframedBlocks(t, filepath.Join(srv.DataDir, "lake", "lake.db"))
		return n == 0, fmt.Sprintf("%d blocks not in frames", n)
	})
	check("blocks written again in frames")
}

// unframedBlocks is how many blocks of the lake.db at path are not in
// frames.
func unframedBlocks(t *testing.T, path string) int {
	t.Helper()
	db := openLakeDB(t, path, false)
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM lake_blocks WHERE substr(data, 1, 1) <> x'01'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// openLakeDB opens the node's lake.db at path (read-only unless rw).
func openLakeDB(t *testing.T, path string, rw bool) *sql.DB {
	t.Helper()
	mode := "ro"
	if rw {
		mode = "rw"
	}
	db, err := sql.Open("sqlite", "file:"+url.PathEscape(path)+"?mode="+mode+"&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// userRefs are the refs (block << 8 | slot) of the events of store id
// from this test's source in the node's lake.db, of userIdentity.arn
// arn ("": every user's), in eventTime order.
func userRefs(t *testing.T, srv *Server, id, arn string) []int64 {
	t.Helper()
	db := openLakeDB(t, filepath.Join(srv.DataDir, "lake", "lake.db"), false)
	defer db.Close()
	rows, err := db.Query(`SELECT e.ref FROM lake_events AS e JOIN lake_stores AS s ON s.num = e.store
		WHERE s.store = ? AND e.event_source = ? AND (? = '' OR e.user_arn = ?) ORDER BY e.t`, id, lakeSource, arn, arn)
	if err != nil {
		return nil // lake.db or its tables not there yet
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var ref int64
		if err := rows.Scan(&ref); err != nil {
			t.Fatal(err)
		}
		out = append(out, ref)
	}
	return out
}

// rewriteBlocksUnframed writes every block of the lake.db at path again as
// the version before frames wrote blocks, removes the marks of the frames
// (blocks/…: that version had none), and returns how many blocks it wrote.
// A block in frames is 0x01, the frame count, each frame's slot count and
// compressed length (uvarints), then the frames, each zstd of: the slot
// count, each slot's record length and eventTime (uvarint, varint), the
// records. The earlier format is one zstd frame of that for all the slots.
func rewriteBlocksUnframed(t *testing.T, path string) int {
	t.Helper()
	db := openLakeDB(t, path, true)
	defer db.Close()
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT id, data FROM lake_blocks`)
	if err != nil {
		t.Fatal(err)
	}
	uvarint := func(p *[]byte) uint64 {
		v, k := binary.Uvarint(*p)
		if k <= 0 {
			t.Fatalf("a bad varint in a block")
		}
		*p = (*p)[k:]
		return v
	}
	done := map[int64][]byte{}
	for rows.Next() {
		var id int64
		var data []byte
		if err := rows.Scan(&id, &data); err != nil {
			t.Fatal(err)
		}
		if data[0] != 0x01 {
			t.Fatalf("block %d is not in frames (%#x)", id, data[0])
		}
		p := data[1:]
		nf := uvarint(&p)
		lens := make([]uint64, nf)
		for i := range lens {
			uvarint(&p) // the frame's slot count, in the frame too
			lens[i] = uvarint(&p)
		}
		var heads, recs []byte
		slots := 0
		for _, l := range lens {
			raw, err := dec.DecodeAll(p[:l], nil)
			if err != nil {
				t.Fatalf("block %d: %v", id, err)
			}
			p = p[l:]
			n := uvarint(&raw)
			total := 0
			for range n {
				rl := uvarint(&raw)
				tm, k := binary.Varint(raw)
				if k <= 0 {
					t.Fatalf("block %d: a bad eventTime", id)
				}
				raw = raw[k:]
				heads = binary.AppendVarint(binary.AppendUvarint(heads, rl), tm)
				total += int(rl)
			}
			if total != len(raw) {
				t.Fatalf("block %d: records of %d bytes, %d left", id, total, len(raw))
			}
			recs = append(recs, raw...)
			slots += int(n)
		}
		done[id] = enc.EncodeAll(append(append(binary.AppendUvarint(nil, uint64(slots)), heads...), recs...), nil)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	for id, data := range done {
		if _, err := db.Exec(`UPDATE lake_blocks SET data = ? WHERE id = ?`, data, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`DELETE FROM lake_marks WHERE name LIKE 'blocks/%'`); err != nil {
		t.Fatal(err)
	}
	return len(done)
}
