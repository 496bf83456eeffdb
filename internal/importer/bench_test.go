package importer

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/bucket"
	"github.com/cairn-audit/cairn/internal/event"
)

// benchRecord is a CloudTrail record of a realistic size (~1.3 KB).
func benchRecord(r *rand.Rand, acct, region string, at time.Time) string {
	return fmt.Sprintf(`{"eventVersion":"1.11","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE%06d:session-%d","arn":"arn:aws:sts::%s:assumed-role/deploy/session-%d","accountId":%q,"accessKeyId":"ASIAEXAMPLE%09d","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE%06d","arn":"arn:aws:iam::%s:role/deploy","accountId":%q,"userName":"deploy"},"attributes":{"creationDate":%q,"mfaAuthenticated":"false"}}},"eventTime":%q,"eventSource":"s3.amazonaws.com","eventName":"PutObject","awsRegion":%q,"sourceIPAddress":"192.0.2.%d","userAgent":"aws-sdk-go-v2/1.30.0 os/linux lang/go#1.22 md/GOOS#linux md/GOARCH#amd64 api/s3#1.58.0","requestParameters":{"bucketName":"bucket-%d","key":"objects/%d/%d.json","Host":"bucket-%d.s3.%s.amazonaws.com"},"responseElements":null,"additionalEventData":{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":%d,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"Zm9vYmFyYmF6cXV4%d","bytesTransferredOut":0},"requestID":"%016X","eventID":"%08x-%04x-4%03x-8%03x-%012x","readOnly":false,"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::bucket-%d/objects/%d/%d.json"},{"accountId":%q,"type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::bucket-%d"}],"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":%q,"eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"bucket-%d.s3.%s.amazonaws.com"}}`,
		r.IntN(1e6), r.IntN(1e6), acct, r.IntN(1e6), acct, r.IntN(1e9), r.IntN(1e6), acct, acct,
		at.Add(-time.Hour).Format(time.RFC3339), at.Format(time.RFC3339), region, r.IntN(250),
		r.IntN(100), r.IntN(1e6), r.IntN(1e6), r.IntN(100), region, r.IntN(1e6), r.IntN(1e9),
		r.Uint64(), r.Uint32(), r.IntN(1<<16), r.IntN(1<<12), r.IntN(1<<12), r.Uint64()&(1<<48-1),
		r.IntN(100), r.IntN(1e6), r.IntN(1e6), acct, r.IntN(100), acct, r.IntN(100), region)
}

// writeBenchArchive writes events records into dir in AWS's layout: two
// accounts, three regions, spread over the last 30 days, perFile records a
// file. It returns the number of files.
func writeBenchArchive(tb testing.TB, dir string, events, perFile int) int {
	tb.Helper()
	accounts := []string{"111111111111", "222222222222"}
	regions := []string{"us-east-1", "us-west-2", "eu-west-1"}
	nfiles := (events + perFile - 1) / perFile
	now := time.Now().UTC().Truncate(time.Minute)
	var wg sync.WaitGroup
	work := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			for f := range work {
				r := rand.New(rand.NewPCG(uint64(f), 7))
				acct, region := accounts[f%len(accounts)], regions[(f/len(accounts))%len(regions)]
				// Files spread evenly over 30 days, oldest first.
				at := now.Add(-30 * 24 * time.Hour).Add(time.Duration(f) * 30 * 24 * time.Hour / time.Duration(nfiles))
				n := min(perFile, events-f*perFile)
				buf.Reset()
				zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
				io.WriteString(zw, `{"Records":[`)
				for i := range n {
					if i > 0 {
						io.WriteString(zw, ",")
					}
					io.WriteString(zw, benchRecord(r, acct, region, at.Add(-time.Duration(n-i)*time.Second)))
				}
				io.WriteString(zw, "]}")
				zw.Close()
				key := logKey("", acct, region, at)
				key = key[:len(key)-len("AbCdEf0123456789.json.gz")] + fmt.Sprintf("B%015d.json.gz", f)
				p := filepath.Join(dir, filepath.FromSlash(key))
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
					panic(err)
				}
			}
		}()
	}
	for f := range nfiles {
		work <- f
	}
	close(work)
	wg.Wait()
	return nfiles
}

// TestWriteBenchArchive writes the benchmark archive into
// $CAIRN_IMPORT_BENCH_DIR ($CAIRN_IMPORT_BENCH_EVENTS events, default 1M)
// for measuring `cairn import` against a real server; without it, a small
// archive into a temporary directory, so that the writer keeps working.
func TestWriteBenchArchive(t *testing.T) {
	dir, n := os.Getenv("CAIRN_IMPORT_BENCH_DIR"), benchEvents(1_000_000)
	if dir == "" {
		dir, n = t.TempDir(), 3000
	}
	files := writeBenchArchive(t, dir, n, 500)
	t.Logf("wrote %d events in %d files to %s", n, files, dir)
	if want := (n + 499) / 500; files < want {
		t.Errorf("wrote %d files for %d events of 500 a file, want at least %d", files, n, want)
	}
}

func benchEvents(def int) int {
	if v, err := strconv.Atoi(os.Getenv("CAIRN_IMPORT_BENCH_EVENTS")); err == nil && v > 0 {
		return v
	}
	return def
}

// nullSink answers every batch as accepted after splitting it (the least
// a server does; a gzip'd one inflated first), so that the benchmark
// measures the importer.
func nullSink() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, _ := io.ReadAll(body)
		raw, _ := event.OnlyRecords(b)
		recs, _ := event.SplitArray(raw)
		fmt.Fprintf(w, `{"accepted":%d,"eventIDs":[],"failed":[]}`, len(recs))
	})
}

// BenchmarkImportArchive measures the importer alone: list, read, gunzip,
// split, batch, sign and post an archive to a server that only splits the
// batches, checkpointing each file. The archive is the one in $CAIRN_IMPORT_BENCH_DIR (written by
// TestWriteBenchArchive, $CAIRN_IMPORT_BENCH_EVENTS events), so that a CPU
// profile shows the import alone; else one of 200,000 events is written
// first.
func BenchmarkImportArchive(b *testing.B) {
	dir := os.Getenv("CAIRN_IMPORT_BENCH_DIR")
	n := benchEvents(200_000)
	if dir == "" {
		dir = b.TempDir()
		writeBenchArchive(b, dir, n, 500)
	}
	srv := httptest.NewServer(nullSink())
	defer srv.Close()
	src := Source{Bucket: bucket.NewDir("bench", dir)}
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		files, _, err := Plan(context.Background(), src, Filter{})
		if err != nil {
			b.Fatal(err)
		}
		cp, err := OpenCheckpoint(filepath.Join(b.TempDir(), "checkpoint"), "bench", "")
		if err != nil {
			b.Fatal(err)
		}
		st := &Stats{}
		if _, err := ImportArchive(context.Background(), src, files, Options{Client: NewClient(srv.URL, "us-east-1", "AKID", "s", 8),
			Checkpoint: cp, Refusals: io.Discard, Stats: st}); err != nil {
			b.Fatal(err)
		}
		cp.Close()
		if st.Accepted.Load() != int64(n) {
			b.Fatalf("accepted %d of %d", st.Accepted.Load(), n)
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "events/s")
	}
}
