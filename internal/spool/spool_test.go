package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/testutil"
)

// openSpool opens a spool in dir and closes it when the test ends.
func openSpool(t *testing.T, dir string, o Options) *Spool {
	t.Helper()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := Open(dir, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// reopen closes s and opens its directory again.
func reopen(t *testing.T, s *Spool) *Spool {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return openSpool(t, s.dir, s.opts)
}

// peekAll returns every unacknowledged record without acknowledging them.
func peekAll(t *testing.T, s *Spool) []Entry {
	t.Helper()
	es, err := s.Peek(math.MaxInt, math.MaxInt)
	if err != nil {
		t.Fatalf("Peek: %v", err)
	}
	return es
}

// appendStrings appends each string as its own record.
func appendStrings(t *testing.T, s *Spool, recs ...string) {
	t.Helper()
	for _, r := range recs {
		if err := s.Append([]byte(r)); err != nil {
			t.Fatalf("Append(%q): %v", r, err)
		}
	}
}

// wantEntries checks that es holds the records want, with consecutive seqs
// starting at first.
func wantEntries(t *testing.T, es []Entry, first uint64, want ...string) {
	t.Helper()
	var got []string
	for i, e := range es {
		got = append(got, string(e.Data))
		if e.Seq != first+uint64(i) {
			t.Errorf("entry %d (%q) has seq %d, want %d", i, e.Data, e.Seq, first+uint64(i))
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("records = %q, want %q", got, want)
	}
}

// segFiles returns the names of the segment files in dir.
func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segSuffix))
	if err != nil {
		t.Fatal(err)
	}
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m
}

// rec returns a record of n bytes starting with name.
func rec(name string, n int) string {
	return name + strings.Repeat(".", n-len(name))
}

func TestAppendPeekAck(t *testing.T) {
	s := openSpool(t, t.TempDir(), Options{})
	if es := peekAll(t, s); len(es) != 0 {
		t.Fatalf("new spool: Peek = %v, want nothing", es)
	}
	appendStrings(t, s, "a")
	if err := s.Append([]byte("b"), []byte(""), []byte("c")); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(); err != nil {
		t.Fatalf("Append(): %v", err)
	}
	wantEntries(t, peekAll(t, s), 1, "a", "b", "", "c")

	es, err := s.Peek(2, math.MaxInt)
	if err != nil {
		t.Fatal(err)
	}
	wantEntries(t, es, 1, "a", "b")
	es, _ = s.Peek(10, 1) // over maxBytes already, but at least one
	wantEntries(t, es, 1, "a")
	es, _ = s.Peek(10, 2) // "a", "b" and the empty record fit
	wantEntries(t, es, 1, "a", "b", "")
	es, _ = s.Peek(0, 0)
	wantEntries(t, es, 1, "a")

	if st := s.Stats(); st.Pending != 4 || st.PendingBytes != 4*recHeaderLen+3 || st.Segments != 1 || st.Full {
		t.Errorf("Stats = %+v", st)
	}
	if err := s.Ack(2); err != nil {
		t.Fatal(err)
	}
	wantEntries(t, peekAll(t, s), 3, "", "c")
	if st := s.Stats(); st.Pending != 2 || st.PendingBytes != 2*recHeaderLen+1 {
		t.Errorf("Stats after Ack(2) = %+v", st)
	}
	if err := s.Ack(1); err != nil { // already acknowledged: nothing to do
		t.Errorf("Ack(1) after Ack(2): %v", err)
	}
	if err := s.Ack(5); err == nil {
		t.Error("Ack(5) beyond the last record: no error")
	}
	if err := s.Ack(4); err != nil {
		t.Fatal(err)
	}
	if es := peekAll(t, s); len(es) != 0 {
		t.Errorf("all acknowledged: Peek = %v", es)
	}
	if st := s.Stats(); st.Pending != 0 || st.PendingBytes != 0 {
		t.Errorf("Stats after acknowledging everything = %+v", st)
	}
}

func TestPeekDataIsOwnedByCaller(t *testing.T) {
	s := openSpool(t, t.TempDir(), Options{})
	appendStrings(t, s, "one", "two")
	es := peekAll(t, s)
	es[0].Data = append(es[0].Data, "XYZ"...) // must not overwrite "two"
	wantEntries(t, es[1:], 2, "two")
	wantEntries(t, peekAll(t, s), 1, "one", "two")
}

// TestConcurrentAppend appends from many goroutines while a sender drains
// the spool: every record comes out exactly once, in seq order, and the
// records of each goroutine in the order it appended them.
func TestConcurrentAppend(t *testing.T) {
	const goroutines, perG = 16, 200
	s := openSpool(t, t.TempDir(), Options{SegmentBytes: 4 << 10})

	type got struct {
		seq  uint64
		data string
	}
	var received []got
	senderDone := make(chan error)
	ctx, stop := context.WithCancel(context.Background())
	go func() {
		// A sender as the proxy has one: Peek, "send", Ack, sleep on Wait.
		for {
			wake := s.Wait()
			es, err := s.Peek(37, 2<<10)
			if err != nil {
				senderDone <- err
				return
			}
			if len(es) == 0 {
				select {
				case <-wake:
					continue
				case <-ctx.Done():
					senderDone <- nil
					return
				}
			}
			for _, e := range es {
				received = append(received, got{e.Seq, string(e.Data)})
			}
			if err := s.Ack(es[len(es)-1].Seq); err != nil {
				senderDone <- err
				return
			}
		}
	}()

	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for i := 0; i < perG; {
				n := 1 + i%3 // calls with one, two and three records
				var recs [][]byte
				for j := 0; j < n && i < perG; j++ {
					recs = append(recs, []byte(fmt.Sprintf("g%02d-%04d-%s", g, i, strings.Repeat("x", i%50))))
					i++
				}
				if err := s.Append(recs...); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Everything appended is durable and visible now; let the sender drain.
	testutil.PollEvery(30*time.Second, time.Millisecond, func() (bool, string) { return s.Stats().Pending == 0, "" })
	stop()
	if err := <-senderDone; err != nil {
		t.Fatal(err)
	}

	if len(received) != goroutines*perG {
		t.Fatalf("received %d records, want %d", len(received), goroutines*perG)
	}
	next := make([]int, goroutines)
	for i, r := range received {
		if r.seq != uint64(i+1) {
			t.Fatalf("record %d has seq %d", i, r.seq)
		}
		var g, n int
		if _, err := fmt.Sscanf(r.data, "g%02d-%04d-", &g, &n); err != nil {
			t.Fatalf("record %q: %v", r.data, err)
		}
		if n != next[g] {
			t.Fatalf("goroutine %d: record %d came after %d", g, n, next[g]-1)
		}
		next[g]++
	}
	if st := s.Stats(); st.Pending != 0 || st.PendingBytes != 0 || st.Segments != 1 {
		t.Errorf("drained: Stats = %+v", st)
	}
	if f := segFiles(t, s.dir); len(f) != 1 {
		t.Errorf("drained: segment files %v, want one", f)
	}
}

func TestPeekAckAcrossSegments(t *testing.T) {
	// Records of 20 bytes take 36 on disk: two fit in a segment of 100
	// bytes after the 8-byte header.
	dir := t.TempDir()
	s := openSpool(t, dir, Options{SegmentBytes: 100})
	var recs []string
	for i := 1; i <= 9; i++ {
		recs = append(recs, rec(fmt.Sprint("r", i), 20))
	}
	appendStrings(t, s, recs...)
	wantFiles := []string{
		"00000000000000000001.seg", "00000000000000000003.seg", "00000000000000000005.seg",
		"00000000000000000007.seg", "00000000000000000009.seg",
	}
	if got := segFiles(t, dir); !slices.Equal(got, wantFiles) {
		t.Fatalf("segments = %v, want %v", got, wantFiles)
	}
	if st := s.Stats(); st.Segments != 5 || st.Pending != 9 || st.PendingBytes != 9*36 {
		t.Errorf("Stats = %+v", st)
	}
	wantEntries(t, peekAll(t, s), 1, recs...)
	es, _ := s.Peek(3, math.MaxInt)
	wantEntries(t, es, 1, recs[:3]...)
	es, _ = s.Peek(100, 50) // maxBytes across a segment boundary
	wantEntries(t, es, 1, recs[:2]...)

	// Acknowledging inside the second segment deletes the first only.
	if err := s.Ack(3); err != nil {
		t.Fatal(err)
	}
	if got := segFiles(t, dir); !slices.Equal(got, wantFiles[1:]) {
		t.Errorf("after Ack(3): segments = %v, want %v", got, wantFiles[1:])
	}
	es, _ = s.Peek(3, math.MaxInt)
	wantEntries(t, es, 4, recs[3:6]...)
	// Acknowledge the end of a segment without having peeked it: the
	// segment is finished, so it goes.
	if err := s.Ack(6); err != nil {
		t.Fatal(err)
	}
	if got := segFiles(t, dir); !slices.Equal(got, wantFiles[3:]) {
		t.Errorf("after Ack(6): segments = %v, want %v", got, wantFiles[3:])
	}
	wantEntries(t, peekAll(t, s), 7, recs[6:]...)
	if st := s.Stats(); st.Segments != 2 || st.Pending != 3 || st.PendingBytes != 3*36 {
		t.Errorf("Stats after Ack(6) = %+v", st)
	}
	// Everything acknowledged: the active segment stays, the rest goes.
	if err := s.Ack(9); err != nil {
		t.Fatal(err)
	}
	if got := segFiles(t, dir); !slices.Equal(got, wantFiles[4:]) {
		t.Errorf("after Ack(9): segments = %v, want %v", got, wantFiles[4:])
	}
	if st := s.Stats(); st.Segments != 1 || st.Pending != 0 || st.PendingBytes != 0 {
		t.Errorf("Stats after Ack(9) = %+v", st)
	}
	appendStrings(t, s, "after")
	wantEntries(t, peekAll(t, s), 10, "after")
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir, Options{SegmentBytes: 100})
	var recs []string
	for i := 1; i <= 10; i++ {
		recs = append(recs, rec(fmt.Sprint("r", i), 20))
	}
	appendStrings(t, s, recs...)
	if err := s.Ack(4); err != nil {
		t.Fatal(err)
	}

	s = reopen(t, s)
	wantEntries(t, peekAll(t, s), 5, recs[4:]...)
	if st := s.Stats(); st.Pending != 6 || st.PendingBytes != 6*36 || st.Segments != 3 {
		t.Errorf("reopened: Stats = %+v", st)
	}
	appendStrings(t, s, "r11")
	wantEntries(t, peekAll(t, s), 5, append(recs[4:], "r11")...)

	// Fully acknowledged, then reopened: numbering continues.
	if err := s.Ack(11); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s)
	if es := peekAll(t, s); len(es) != 0 {
		t.Errorf("all acknowledged, reopened: Peek = %v", es)
	}
	appendStrings(t, s, "r12")
	wantEntries(t, peekAll(t, s), 12, "r12")
	if st := s.Stats(); st.Pending != 1 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestOpenDeletesSegmentsAcknowledgedBeforeACrash(t *testing.T) {
	// A crash between writing the ack file and deleting the segments it
	// covers leaves them behind; Open deletes them.
	dir := t.TempDir()
	s := openSpool(t, dir, Options{SegmentBytes: 100})
	for i := 1; i <= 6; i++ {
		appendStrings(t, s, rec(fmt.Sprint("r", i), 20))
	}
	s.Close()
	if err := writeAck(dir, 5); err != nil {
		t.Fatal(err)
	}
	s = openSpool(t, dir, Options{SegmentBytes: 100})
	wantEntries(t, peekAll(t, s), 6, rec("r6", 20))
	if got, want := segFiles(t, dir), []string{"00000000000000000005.seg"}; !slices.Equal(got, want) {
		t.Errorf("segments = %v, want %v", got, want)
	}
}

func TestFull(t *testing.T) {
	var logs logBuffer
	const size = recHeaderLen + 10 // each record of 10 bytes
	s := openSpool(t, t.TempDir(), Options{MaxBytes: 5 * size, SegmentBytes: 2*size + segHeaderLen, Logger: logs.logger()})
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }

	for i := 1; i <= 5; i++ {
		appendStrings(t, s, rec(fmt.Sprint("r", i), 10))
	}
	if err := s.Append([]byte(rec("r6", 10))); !errors.Is(err, ErrFull) {
		t.Fatalf("Append beyond MaxBytes: %v, want ErrFull", err)
	}
	if st := s.Stats(); !st.Full || st.Pending != 5 || st.PendingBytes != 5*size {
		t.Errorf("full: Stats = %+v", st)
	}
	if err := s.Append(); err != nil { // nothing to store always fits
		t.Errorf("Append(): %v", err)
	}
	if n := logs.count("spool full"); n != 1 {
		t.Errorf("logged %q %d times, want 1:\n%s", "spool full", n, logs.String())
	}
	for range 3 {
		s.Append([]byte("x"))
	}
	if n := logs.count("spool full"); n != 1 {
		t.Errorf("within a minute: logged %q %d times, want 1", "spool full", n)
	}
	now = now.Add(time.Minute)
	s.Append([]byte("x"))
	if n := logs.count("spool full"); n != 2 {
		t.Errorf("a minute later: logged %q %d times, want 2", "spool full", n)
	}

	// Acknowledging frees space; an Append of several records that do not
	// all fit stores none of them.
	if err := s.Ack(2); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Full || st.PendingBytes != 3*size {
		t.Errorf("after Ack(2): Stats = %+v", st)
	}
	if n := logs.count("spool no longer full"); n != 1 {
		t.Errorf("logged %q %d times, want 1", "spool no longer full", n)
	}
	three := [][]byte{[]byte(rec("a", 10)), []byte(rec("b", 10)), []byte(rec("c", 10))}
	if err := s.Append(three...); !errors.Is(err, ErrFull) {
		t.Errorf("Append of three records with room for two: %v, want ErrFull", err)
	}
	if err := s.Append(three[:2]...); err != nil {
		t.Fatalf("Append of two records with room for two: %v", err)
	}
	wantEntries(t, peekAll(t, s), 3, rec("r3", 10), rec("r4", 10), rec("r5", 10), rec("a", 10), rec("b", 10))

	// A record that could never fit is not ErrFull.
	if err := s.Append(make([]byte, 5*size)); err == nil || errors.Is(err, ErrFull) {
		t.Errorf("Append of a record larger than MaxBytes: %v, want an error other than ErrFull", err)
	}

	// The bound holds across a reopen.
	s = reopen(t, s)
	if err := s.Append([]byte("x")); !errors.Is(err, ErrFull) {
		t.Errorf("reopened full spool: Append = %v, want ErrFull", err)
	}
}

func TestWait(t *testing.T) {
	s := openSpool(t, t.TempDir(), Options{})
	closed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	ch := s.Wait()
	if closed(ch) {
		t.Fatal("Wait on an empty spool: closed")
	}
	appendStrings(t, s, "a")
	if !closed(ch) { // Append returns after the record is durable and Wait is woken
		t.Fatal("Wait before an Append: not closed after it")
	}
	// A record no Peek has returned yet: closed at once, so that "Peek
	// found nothing, then Wait" cannot sleep through an Append.
	if !closed(s.Wait()) {
		t.Error("Wait with an unpeeked record: not closed")
	}
	peekAll(t, s)
	ch = s.Wait()
	if closed(ch) {
		t.Error("Wait after Peek returned everything: closed")
	}
	if err := s.Ack(1); err != nil {
		t.Fatal(err)
	}
	if closed(s.Wait()) {
		t.Error("Wait after Ack: closed")
	}
	s.Close()
	if !closed(ch) {
		t.Error("Wait: not closed by Close")
	}
	if !closed(s.Wait()) {
		t.Error("Wait on a closed spool: not closed")
	}

	// A reopened spool with records waiting wakes the sender at once.
	s = openSpool(t, s.dir, Options{})
	appendStrings(t, s, "b")
	s = reopen(t, s)
	if !closed(s.Wait()) {
		t.Error("Wait on a reopened spool with a pending record: not closed")
	}
}

func TestClose(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir, Options{})
	appendStrings(t, s, "a")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.Append([]byte("b")); err == nil {
		t.Error("Append after Close: no error")
	}
	if _, err := s.Peek(1, 1); err == nil {
		t.Error("Peek after Close: no error")
	}
	if err := s.Ack(1); err == nil {
		t.Error("Ack after Close: no error")
	}
}

func TestOpenLocks(t *testing.T) {
	if !canLock {
		t.Skip("no flock(2) here")
	}
	dir := t.TempDir()
	s := openSpool(t, dir, Options{})
	if s2, err := Open(dir, Options{}); err == nil {
		s2.Close()
		t.Fatal("second Open of the same directory: no error")
	}
	s.Close()
	openSpool(t, dir, Options{}) // released by Close
}

func TestOpenCreatesDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "spool")
	s := openSpool(t, dir, Options{})
	appendStrings(t, s, "a")
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("spool dir: %v, %v", fi, err)
	}
}

// logBuffer collects log output for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, nil))
}

// count returns how many log lines have the message msg.
func (b *logBuffer) count(msg string) int {
	n := 0
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.Contains(line, `msg="`+msg) {
			n++
		}
	}
	return n
}

// TestCloseDuringAppends closes the spool while goroutines append: every
// Append that returned nil is in the spool when it is reopened.
func TestCloseDuringAppends(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir, Options{SegmentBytes: 1 << 10})
	var mu sync.Mutex
	stored := map[string]bool{}
	var wg sync.WaitGroup
	started := make(chan struct{}, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				r := fmt.Sprintf("g%d-%d", g, i)
				if err := s.Append([]byte(r)); err != nil {
					return // closed
				}
				mu.Lock()
				stored[r] = true
				mu.Unlock()
				if i == 10 {
					started <- struct{}{}
				}
			}
		})
	}
	for range 8 {
		<-started
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	s = openSpool(t, dir, Options{SegmentBytes: 1 << 10})
	found := map[string]bool{}
	for _, e := range peekAll(t, s) {
		found[string(e.Data)] = true
	}
	for r := range stored {
		if !found[r] {
			t.Errorf("record %s: Append returned nil, but it is not in the reopened spool", r)
		}
	}
	if len(stored) == 0 {
		t.Error("nothing was stored")
	}
}
