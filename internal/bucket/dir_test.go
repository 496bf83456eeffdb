package bucket_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/bucket"
	"github.com/cairn-audit/cairn/internal/testutil"
)

// diskFiles returns the regular files under dir, relative and slash-separated,
// split into the key tree and the bookkeeping folders.
func diskFiles(t *testing.T, dir string) (keys, meta, tmp []string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		switch {
		case strings.HasPrefix(rel, ".cairn-meta/"):
			meta = append(meta, rel)
		case strings.HasPrefix(rel, ".cairn-tmp/"):
			tmp = append(tmp, rel)
		default:
			keys = append(keys, rel)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return keys, meta, tmp
}

// TestDirLayout pins the on-disk layout others (cairn verify, operators)
// rely on: bytes at <dir>/<key>, headers in <dir>/.cairn-meta/<key>.json.
func TestDirLayout(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "b")
	b := bucket.NewDir("b", dir)
	if keys := mustList(t, b, ""); len(keys) != 0 {
		t.Fatalf("List of a missing directory = %q", keys)
	}
	if _, err := b.Get(ctxT(t), digestKey); !errors.Is(err, bucket.ErrNotFound) {
		t.Fatalf("Get from a missing directory: %v", err)
	}
	body := []byte(`{"awsAccountId":"111111111111"}`)
	mustPut(t, b, bucket.Object{Key: digestKey, Body: body, ContentType: "application/json", SSEKMSKeyID: kmsKeyARN,
		Metadata: map[string]string{"Signature": "ab12", "signature-algorithm": "SHA256withRSA"}})

	onDisk, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(digestKey)))
	if err != nil || string(onDisk) != string(body) {
		t.Fatalf("object file: %q, %v", onDisk, err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, ".cairn-meta", filepath.FromSlash(digestKey)+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var side map[string]any
	if err := json.Unmarshal(raw, &side); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"contentType": "application/json",
		"sseKmsKeyId": kmsKeyARN,
		"metadata":    map[string]any{"signature": "ab12", "signature-algorithm": "SHA256withRSA"},
	}
	if got, _ := json.Marshal(side); string(got) != mustJSON(t, want) {
		t.Errorf("sidecar = %s, want %s", got, mustJSON(t, want))
	}
	keys, meta, tmp := diskFiles(t, dir)
	if !slices.Equal(keys, []string{digestKey}) || len(meta) != 1 || len(tmp) != 0 {
		t.Errorf("files on disk: keys %q meta %q tmp %q", keys, meta, tmp)
	}
	for _, p := range []string{dir, filepath.Join(dir, filepath.FromSlash(digestKey))} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o007 != 0 {
			t.Errorf("%s is world-accessible: %v", p, fi.Mode())
		}
	}

	// A file dropped in by hand is an object without headers.
	if err := os.WriteFile(filepath.Join(dir, "manual.txt"), []byte("by hand"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, b, "manual.txt"); string(got.Body) != "by hand" || got.Metadata != nil || got.ContentType != "" {
		t.Errorf("hand-made object: %+v", got)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	p, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(p)
}

// TestDirConflicts: S3 allows keys "a" and "a/b" side by side, a directory
// does not. Both orders fail cleanly and leave nothing behind.
func TestDirConflicts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b := bucket.NewDir("b", dir)
	mustPut(t, b, bucket.Object{Key: "a/b", Body: []byte("ab")})
	mustPut(t, b, bucket.Object{Key: "c", Body: []byte("c")})
	if err := b.Put(ctxT(t), bucket.Object{Key: "a", Body: []byte("a"), Metadata: map[string]string{"x": "y"}}); err == nil {
		t.Error(`Put("a") over the folder a/: no error`)
	}
	if err := b.Put(ctxT(t), bucket.Object{Key: "c/d", Body: []byte("cd")}); err == nil {
		t.Error(`Put("c/d") below the object c: no error`)
	}
	if keys := mustList(t, b, ""); !slices.Equal(keys, []string{"a/b", "c"}) {
		t.Errorf("List = %q", keys)
	}
	if got := mustGet(t, b, "c"); string(got.Body) != "c" {
		t.Errorf("c = %q", got.Body)
	}
	keys, meta, tmp := diskFiles(t, dir)
	if len(keys) != 2 || len(meta) != 2 || len(tmp) != 0 {
		t.Errorf("files on disk: keys %q meta %q tmp %q", keys, meta, tmp)
	}
}

// TestDirNeverEscapes: symbolic links inside the bucket directory cannot
// make it read or write outside.
func TestDirNeverEscapes(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	dir := filepath.Join(base, "bucket")
	outside := filepath.Join(base, "outside")
	for _, d := range []string{dir, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "abs")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../outside", filepath.Join(dir, "rel")); err != nil {
		t.Fatal(err)
	}
	b := bucket.NewDir("b", dir)
	for _, k := range []string{"abs/x", "rel/x", "rel/secret"} {
		if err := b.Put(ctxT(t), bucket.Object{Key: k, Body: []byte("x")}); err == nil {
			t.Errorf("Put(%q) through a symlink out of the bucket: no error", k)
		}
	}
	for _, k := range []string{"abs/secret", "rel/secret"} {
		if o, err := b.Get(ctxT(t), k); err == nil {
			t.Errorf("Get(%q) read outside the bucket: %q", k, o.Body)
		}
	}
	entries, _ := os.ReadDir(outside)
	if len(entries) != 1 {
		t.Errorf("outside directory now holds %d entries", len(entries))
	}
	if p, _ := os.ReadFile(filepath.Join(outside, "secret")); string(p) != "secret" {
		t.Errorf("outside file changed: %q", p)
	}
	if keys := mustList(t, b, ""); len(keys) != 0 {
		t.Errorf("List = %q", keys)
	}
}

// TestDirCrashSafety kills a writer (a child process) mid-stream with
// SIGKILL, several times, and checks that every object on disk is complete
// and consistent with its metadata, that acknowledged puts survived, that
// no temporary file sits in the key tree, and that leftovers of the crash
// are swept once stale.
func TestDirCrashSafety(t *testing.T) {
	testutil.SkipShort(t, "kills a writer process round after round")
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "crash")
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	acked := map[string]bool{}
	leftovers := 0
	for round := range 12 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(stdout)
		record := func(line string) {
			if k, ok := strings.CutPrefix(line, "done "); ok {
				acked[k] = true
			}
		}
		// Let it write a few objects, then kill it at a random moment of a
		// later Put (just after it starts, when it is most likely to be
		// writing, or anywhere).
		want := 2 + r.IntN(4)
		for done := 0; done < want && lines.Scan(); {
			record(lines.Text())
			if strings.HasPrefix(lines.Text(), "done ") {
				done++
			}
		}
		for lines.Scan() {
			record(lines.Text())
			if strings.HasPrefix(lines.Text(), "start ") {
				break
			}
		}
		if round%2 == 0 {
			time.Sleep(time.Duration(r.IntN(8000)) * time.Microsecond)
		} else {
			time.Sleep(time.Duration(r.IntN(40)) * time.Millisecond)
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		for lines.Scan() { // acknowledged before the kill landed
			record(lines.Text())
		}
		if err := cmd.Wait(); err == nil {
			t.Fatalf("round %d: the writer exited normally", round)
		} else if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: the writer failed on its own: %v", round, err)
		}

		b := bucket.NewDir("crash", dir)
		listed := mustList(t, b, "")
		keys, _, tmp := diskFiles(t, dir)
		leftovers += len(tmp)
		slices.Sort(keys)
		if !slices.Equal(keys, listed) {
			t.Fatalf("round %d: files in the key tree %q differ from List %q (temporary files in the tree?)", round, keys, listed)
		}
		for k := range acked {
			if !slices.Contains(listed, k) {
				t.Errorf("round %d: acknowledged object %s is missing", round, k)
			}
		}
		for _, k := range listed {
			o := mustGet(t, b, k)
			if !crashBodyOK(o.Body) {
				t.Errorf("round %d: object %s is incomplete (%d bytes)", round, k, len(o.Body))
				continue
			}
			// New keys get their metadata before they appear.
			if strings.HasPrefix(k, "u/") {
				sum := sha256.Sum256(o.Body)
				if o.Metadata["sha256"] != hex.EncodeToString(sum[:]) {
					t.Errorf("round %d: object %s has metadata %v not matching its body", round, k, o.Metadata)
				}
			}
		}
	}
	t.Logf("%d objects acknowledged; %d temporary files left in .cairn-tmp by the kills", len(acked), leftovers)

	// Stale leftovers are swept by the next bucket's first Put; fresh ones
	// (a concurrent writer's) are not.
	_, _, tmp := diskFiles(t, dir)
	for _, p := range tmp {
		old := time.Now().Add(-time.Hour)
		if err := os.Chtimes(filepath.Join(dir, p), old, old); err != nil {
			t.Fatal(err)
		}
	}
	fresh := filepath.Join(dir, ".cairn-tmp", "in-progress")
	if err := os.WriteFile(fresh, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := bucket.NewDir("crash", dir)
	mustPut(t, b, bucket.Object{Key: "after/crash", Body: []byte("ok")})
	if _, _, tmp := diskFiles(t, dir); !slices.Equal(tmp, []string{".cairn-tmp/in-progress"}) {
		t.Errorf("after the sweep .cairn-tmp holds %q, want only the fresh file", tmp)
	}
}

// TestDirNoTempFilesLeft: after successful, refused and failed puts, no
// temporary file remains anywhere.
func TestDirNoTempFilesLeft(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b := bucket.NewDir("b", dir)
	for i := range 20 {
		mustPut(t, b, bucket.Object{Key: logKey, Body: randomBytes(t, 1000*i), Metadata: map[string]string{"n": "x"}})
	}
	_ = b.Put(ctxT(t), bucket.Object{Key: "../escape", Body: []byte("x")})
	_ = b.Put(ctxT(t), bucket.Object{Key: "AWSLogs", Body: []byte("x")}) // a folder
	_ = b.Put(ctxT(t), bucket.Object{Key: logKey + "/below", Body: []byte("x")})
	keys, meta, tmp := diskFiles(t, dir)
	if !slices.Equal(keys, []string{logKey}) || len(meta) != 1 || len(tmp) != 0 {
		t.Errorf("files on disk: keys %q meta %q tmp %q", keys, meta, tmp)
	}
}

// TestDirGetBounded: an object larger than MaxObjectBytes (put there by
// whoever can write the directory) is refused, not read into memory.
func TestDirGetBounded(t *testing.T) {
	dir := t.TempDir()
	b := bucket.NewDir("b", dir)
	key := "AWSLogs/111111111111/CloudTrail/us-east-1/2026/12/06/huge.json.gz"
	p := filepath.Join(dir, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: no disk is used.
	if err := f.Truncate(bucket.MaxObjectBytes + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := b.Get(t.Context(), key); !errors.Is(err, bucket.ErrTooLarge) {
		t.Fatalf("Get of a %d-byte object: %v, want ErrTooLarge", bucket.MaxObjectBytes+1, err)
	}
}
