package bucket_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/cairn-audit/cairn/internal/bucket"
)

// crashChildEnv, when set to a directory, turns the test binary into the
// writer TestDirCrashSafety kills: it puts objects into a directory bucket
// there until it is killed.
const crashChildEnv = "CAIRN_BUCKET_CRASH_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashBody returns a self-checking body: size-32 random bytes followed by
// their SHA-256.
func crashBody(r *rand.ChaCha8, size int) []byte {
	p := make([]byte, size-sha256.Size, size)
	_, _ = r.Read(p)
	sum := sha256.Sum256(p)
	return append(p, sum[:]...)
}

// crashBodyOK reports whether body is a complete crashBody.
func crashBodyOK(body []byte) bool {
	if len(body) < sha256.Size {
		return false
	}
	n := len(body) - sha256.Size
	sum := sha256.Sum256(body[:n])
	return string(sum[:]) == string(body[n:])
}

// crashChild writes objects forever, printing "start <key>" before and
// "done <key>" after each Put: new keys under u/, and overwrites of sixteen
// keys under k/.
func crashChild(dir string) {
	b := bucket.NewDir("crash", dir)
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], uint64(os.Getpid()))
	src := rand.NewChaCha8(seed)
	r := rand.New(src)
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		key := fmt.Sprintf("u/%d/%06d.json.gz", os.Getpid(), i)
		if i%2 == 1 {
			key = fmt.Sprintf("k/%d", i%16)
		}
		body := crashBody(src, 64<<10+r.IntN(8<<20))
		fmt.Fprintf(out, "start %s\n", key)
		out.Flush()
		sum := sha256.Sum256(body)
		err := b.Put(context.Background(), bucket.Object{
			Key:      key,
			Body:     body,
			Metadata: map[string]string{"sha256": hex.EncodeToString(sum[:])},
		})
		if err != nil {
			fmt.Fprintf(os.Stderr, "put %s: %v\n", key, err)
			os.Exit(1)
		}
		fmt.Fprintf(out, "done %s\n", key)
		out.Flush()
	}
}
