package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/history"
	"github.com/cairn-audit/cairn/internal/store"
)

// lookupAnswer is a LookupEvents answer as the server writes it: n
// synthetic records of about 1 KB each, completed as ingest completes them
// and encoded by history's output code, and a NextToken when next.
func lookupAnswer(tb testing.TB, n int, next bool) []byte {
	tb.Helper()
	b, err := buildLookupAnswer(n, next)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func buildLookupAnswer(n int, next bool) ([]byte, error) {
	g := NewGenerator(GenOptions{RecordBytes: 1024, Seed: 7, Spread: time.Hour})
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	out := history.Output{Events: []history.Event{}}
	if n > 0 {
		body := g.Template(n).Fill(nil, n, NewIDs(1, 0), now, 0)
		recs, ok := event.OnlyRecords(body)
		if !ok {
			return nil, errors.New("generated batch is not {\"Records\": …}")
		}
		raws, err := event.SplitArray(recs)
		if err != nil {
			return nil, err
		}
		for _, raw := range raws {
			ev, ferr := event.Decode(raw, event.Context{Account: "111111111111", Now: now})
			if ferr != nil {
				return nil, ferr
			}
			sum, err := event.Summarize(ev.Record)
			if err != nil {
				return nil, err
			}
			e := history.Event{
				EventId: ev.ID, EventName: sum.EventName, ReadOnly: sum.ReadOnly, AccessKeyId: sum.AccessKeyID,
				EventTime: awsproto.Time{Time: ev.Time}, EventSource: sum.EventSource, Username: sum.Username,
				Resources: []history.Resource{}, CloudTrailEvent: string(ev.Record),
			}
			for _, r := range sum.Resources {
				e.Resources = append(e.Resources, history.Resource{ResourceType: &r.Type, ResourceName: &r.ARN})
			}
			out.Events = append(out.Events, e)
		}
	}
	if next {
		tok := history.EncodeToken(store.Cursor{Time: now.UnixMilli(), Seq: 123456}, [8]byte{1, 2, 3, 4, 5, 6, 7, 8})
		out.NextToken = &tok
	}
	return out.AppendJSON(nil), nil
}

// answerHandler answers every request with status and answer, as the
// server writes a LookupEvents answer.
func answerHandler(status int, answer []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		h := w.Header()
		h.Set("Content-Type", "application/x-amz-json-1.1")
		h.Set("Content-Length", strconv.Itoa(len(answer)))
		w.WriteHeader(status)
		w.Write(answer)
	})
}

const (
	testKey    = "AKIAALICEADMIN000001"
	testSecret = "alice-secret-key-0001"
)

// answerServerEnv makes the test binary an answer server (see TestMain),
// so that a benchmark can measure its own process's CPU as the client's.
const answerServerEnv = "CAIRN_LOADGEN_ANSWER_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(answerServerEnv) != "" {
		if err := serveAnswers(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serveAnswers serves a 50-event page on a loopback port that it prints,
// until its standard input closes.
func serveAnswers() error {
	answer, err := buildLookupAnswer(50, true)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: answerHandler(http.StatusOK, answer)}
	go srv.Serve(ln)
	fmt.Printf("http://%s\n", ln.Addr())
	io.Copy(io.Discard, os.Stdin)
	return srv.Close()
}

// answerProcess starts this test binary as an answer server and returns
// its URL; the process is stopped when the test ends.
func answerProcess(tb testing.TB) string {
	tb.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), answerServerEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	tb.Cleanup(func() {
		stdin.Close()
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		tb.Fatalf("answer server: %v", err)
	}
	return strings.TrimSpace(line)
}

// BenchmarkHTTPCaller is one call of the http client against a server in
// another process that answers a 50-event page (about 75 KB). cpu-ns/op is
// this process's CPU (user and system, all threads, the garbage collector
// included) per call: the client's cost, what "client CPU" of a lookup run
// measures; ns/op is the wall time of a call, the server's share included.
func BenchmarkHTTPCaller(b *testing.B) {
	url := answerProcess(b)
	h, err := newHTTPLookups(url, testKey, testSecret, "us-east-1", 1, time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	call := h.caller()
	in := attrInput(types.LookupAttributeKeyEventName, "GetObject")
	if n, err := call(context.Background(), in); err != nil || n != 50 {
		b.Fatalf("%d events, %v", n, err)
	}
	b.ReportAllocs()
	cpu0, ok := processCPU()
	for b.Loop() {
		n, err := call(context.Background(), in)
		if err != nil || n != 50 {
			b.Fatalf("%d events, %v", n, err)
		}
	}
	if cpu1, _ := processCPU(); ok {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
	}
}

// marshalLookupBody is the request body as the client wrote it before it
// appended it by hand: json.Marshal of the wire shape.
func marshalLookupBody(t *testing.T, in *cloudtrail.LookupEventsInput) []byte {
	b := map[string]any{}
	if len(in.LookupAttributes) > 0 {
		var attrs []map[string]string
		for _, a := range in.LookupAttributes {
			attrs = append(attrs, map[string]string{"AttributeKey": string(a.AttributeKey), "AttributeValue": aws.ToString(a.AttributeValue)})
		}
		b["LookupAttributes"] = attrs
	}
	if in.StartTime != nil {
		b["StartTime"] = float64(in.StartTime.UnixMilli()) / 1000
	}
	if in.EndTime != nil {
		b["EndTime"] = float64(in.EndTime.UnixMilli()) / 1000
	}
	if in.MaxResults != nil {
		b["MaxResults"] = *in.MaxResults
	}
	if in.NextToken != nil {
		b["NextToken"] = *in.NextToken
	}
	if in.EventCategory != "" {
		b["EventCategory"] = string(in.EventCategory)
	}
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLookupBody(t *testing.T) {
	start := time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.UTC)
	end := start.Add(time.Hour + 7*time.Millisecond)
	early := time.Date(1969, 12, 31, 23, 59, 59, 500e6, time.UTC)
	for _, in := range []*cloudtrail.LookupEventsInput{
		{},
		attrInput(types.LookupAttributeKeyEventName, "GetObject"),
		attrInput(types.LookupAttributeKeyResourceName, "arn:aws:s3:::b/<a&b> \"q\" \\ \u2028 é \x01"),
		{StartTime: &start, EndTime: &end},
		{StartTime: &early, EndTime: &start, MaxResults: aws.Int32(7), EventCategory: types.EventCategoryInsight},
		{LookupAttributes: []types.LookupAttribute{{AttributeKey: "EventId", AttributeValue: aws.String("x")}, {AttributeKey: "Username"}},
			NextToken: aws.String("AbCY4PirZYCJDwECAwQFBgcI"), EndTime: &end},
	} {
		got := appendLookupBody([]byte("junk"), in)[4:]
		want := marshalLookupBody(t, in)
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("body %s\n want %s", got, want)
		}
	}
}

// TestHTTPCaller checks what the http client makes of answers: a page,
// an empty page, a page without Content-Length, refusals and malformed
// answers; and that its calls keep to one connection.
func TestHTTPCaller(t *testing.T) {
	page := lookupAnswer(t, 50, true)
	for _, c := range []struct {
		name    string
		status  int
		answer  []byte
		chunked bool
		n       int
		err     string
	}{
		{"page", 200, page, false, 50, ""},
		{"empty page", 200, lookupAnswer(t, 0, false), false, 0, ""},
		{"page without Content-Length", 200, page, true, 50, ""},
		{"refusal", 400, []byte(`{"__type":"InvalidLookupAttributesException","Message":"no"}`), false, 0, "HTTP 400: {\"__type\":\"InvalidLookupAttributesException\""},
		{"refusal without a body", 503, nil, false, 0, "HTTP 503"},
		{"page cut short", 200, page[:len(page)/2], false, 0, "answer at offset"},
		{"page with a bracket missing", 200, bytes.Replace(page, []byte(`"Resources":[{`), []byte(`"Resources":{`), 1), false, 0, "answer at offset"},
		{"no Events", 200, []byte(`{"NextToken":"t"}`), false, 0, "no Events"},
		{"not JSON", 200, []byte(`<html>`), false, 0, "not a JSON object"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var conns atomic.Int64
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				if !c.chunked {
					w.Header().Set("Content-Length", strconv.Itoa(len(c.answer)))
				}
				w.WriteHeader(c.status)
				for part := range slices.Chunk(c.answer, 4096) {
					w.Write(part)
					if c.chunked {
						w.(http.Flusher).Flush()
					}
				}
			}))
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			srv.Start()
			defer srv.Close()
			h, err := newHTTPLookups(srv.URL, testKey, testSecret, "us-east-1", 1, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			call := h.caller()
			for range 5 {
				n, err := call(context.Background(), attrInput(types.LookupAttributeKeyEventName, "GetObject"))
				if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) || n != c.n {
					t.Fatalf("%d events, %v; want %d, %q", n, err, c.n, c.err)
				}
			}
			if n := conns.Load(); n != 1 {
				t.Errorf("5 calls took %d connections", n)
			}
		})
	}
}

// BenchmarkRunLookup is a lookup run with the http client, 4 concurrent
// callers, against the answer server in another process: the whole
// client path, the run's own bookkeeping included. cpu-ns/op is the
// run's "client CPU" per call.
func BenchmarkRunLookup(b *testing.B) {
	url := answerProcess(b)
	rep, err := RunLookup(context.Background(), LookupConfig{Endpoint: url, AccessKeyID: testKey, SecretAccessKey: testSecret,
		Requests: b.N, Concurrency: 4, Client: ClientHTTP})
	if err != nil {
		b.Fatal(err)
	}
	if !rep.OK() || rep.Requests != b.N {
		b.Fatalf("%d calls, %d failed: %v", rep.Requests, rep.Failed, rep.Errors)
	}
	if rep.ClientCPU != nil {
		b.ReportMetric(rep.ClientCPU.Seconds*1e9/float64(b.N), "cpu-ns/op")
	}
}
