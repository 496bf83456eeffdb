package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestPreAuthRequestsPerAddress(t *testing.T) {
	p := newPreAuth(2, 1<<20, 4<<20, 4<<20)
	a1, ok1 := p.enter("192.0.2.1", "", true)
	a2, ok2 := p.enter("192.0.2.1", "", true)
	if !ok1 || !ok2 {
		t.Fatal("the first two requests of an address were refused")
	}
	if _, ok := p.enter("192.0.2.1", "", true); ok {
		t.Fatal("a third request of the address was let in")
	}
	b, ok := p.enter("192.0.2.2", "", true)
	if !ok {
		t.Fatal("another address was refused")
	}
	a1.release()
	a1.release() // a second release gives nothing back twice
	if _, requests, _ := p.inUse("192.0.2.1"); requests != 1 {
		t.Fatalf("after one release the address has %d requests, want 1", requests)
	}
	a3, ok := p.enter("192.0.2.1", "", true)
	if !ok {
		t.Fatal("a request after a release was refused")
	}
	a2.release()
	a3.release()
	b.release()
	if len(p.addrs) != 0 {
		t.Fatalf("addresses kept after every release: %v", p.addrs)
	}
}

func TestPreAuthBytes(t *testing.T) {
	// A reserve of 83 leaves 250 open to requests not proven.
	p := newPreAuth(10, 100, 1000, 333)
	a, _ := p.enter("a", "", false)
	a2, _ := p.enter("a", "", false)
	if !a.reserve(60) || !a2.reserve(40) {
		t.Fatal("100 bytes for an address of 100 refused")
	}
	if a2.reserve(41) {
		t.Fatal("an address went beyond its bytes")
	}
	if _, _, bytes := p.inUse("a"); bytes != 100 {
		t.Fatalf("a refused reservation changed the address's bytes to %d", bytes)
	}
	if !a.reserve(10) || !a2.reserve(90) {
		t.Fatal("shrinking one hold and growing the other refused")
	}
	b, _ := p.enter("b", "", false)
	c, _ := p.enter("c", "", false)
	if !b.reserve(100) {
		t.Fatal("b's 100 bytes refused")
	}
	if c.reserve(51) {
		t.Fatal("the total went beyond the 250 open to requests not proven")
	}
	if !c.reserve(50) {
		t.Fatal("c's 50 bytes within the total refused")
	}
	a.release()
	if !c.reserve(60) {
		t.Fatal("bytes given back by a release are not available again")
	}
	a2.release()
	b.release()
	c.release()
	if total, _, _ := p.inUse("a"); total != 0 || len(p.addrs) != 0 {
		t.Fatalf("after every release: %d bytes, addresses %v", total, p.addrs)
	}
	if c.reserve(1) {
		t.Fatal("a released hold reserved bytes")
	}
}

func TestClientKey(t *testing.T) {
	cases := map[string]string{
		"192.0.2.7:5555":                       "192.0.2.7",
		"[::ffff:192.0.2.7]:5555":              "192.0.2.7",
		"[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:1": "2001:db8:1:2::/64",
		"[2001:db8:1:2::1]:2":                  "2001:db8:1:2::/64",
		"[2001:db8:1:3::1]:2":                  "2001:db8:1:3::/64",
		"[fe80::1%eth0]:80":                    "fe80::/64",
		"not an address":                       "not an address",
		"@":                                    "@",
	}
	for in, want := range cases {
		if got := clientKey(in); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// slowReader returns its data a byte at a time.
type slowReader struct{ r io.Reader }

func (s slowReader) Read(p []byte) (int, error) { return s.r.Read(p[:min(len(p), 1)]) }

func TestReadGrowing(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 300<<10)
	for _, tc := range []struct {
		name        string
		body        []byte
		size, limit int64
		err         string
	}{
		{"known size", data, int64(len(data)), 1 << 20, ""},
		{"unknown size", data, -1, 1 << 20, ""},
		{"unknown size at the limit", data, -1, int64(len(data)), ""},
		{"unknown size beyond the limit", data, -1, int64(len(data)) - 1, "too large"},
		{"known size beyond the limit", data, int64(len(data)), int64(len(data)) - 1, "too large"},
		{"short body", data[:10], 11, 100, "unexpected EOF"},
		{"long body", data[:12], 11, 100, "longer than its Content-Length"},
		{"empty", nil, 0, 100, ""},
		{"empty unknown", nil, -1, 100, ""},
	} {
		for _, bufs := range []*bodyBuffers{nil, {}} {
			t.Run(fmt.Sprintf("%s/kept buffers %v", tc.name, bufs != nil), func(t *testing.T) {
				got, err := readGrowing(slowReader{bytes.NewReader(tc.body)}, tc.size, tc.limit, nil, bufs)
				if tc.err != "" {
					if err == nil || !strings.Contains(err.Error(), tc.err) {
						t.Fatalf("err %v, want %q", err, tc.err)
					}
					return
				}
				if err != nil || !bytes.Equal(got, tc.body) {
					t.Fatalf("read %d bytes, %v; want %d", len(got), err, len(tc.body))
				}
			})
		}
	}
	// With a hold, the buffer grows only as far as the hold's bytes go.
	p := newPreAuth(1, 200<<10, 1<<20, 1<<20)
	h, _ := p.enter("a", "", true)
	if _, err := readGrowing(bytes.NewReader(data), int64(len(data)), 1<<20, h, nil); err != errOverBudget {
		t.Fatalf("300 KiB with 200 KiB allowed: %v, want errOverBudget", err)
	}
	if _, _, held := p.inUse("a"); held > 200<<10 {
		t.Fatalf("hold has %d bytes, beyond the address's 200 KiB", held)
	}
	h.release()
	h, _ = p.enter("a", "", true)
	if got, err := readGrowing(bytes.NewReader(data[:200<<10]), -1, 1<<20, h, nil); err != nil || len(got) != 200<<10 {
		t.Fatalf("200 KiB with 200 KiB allowed: %d bytes, %v", len(got), err)
	}
	h.release()
}

// TestBodyBuffersReuse: the buffers bodies grow out of serve the next
// bodies, and a body read is never handed out again, whether it was read
// whole, failed, or ended before its buffer was full.
func TestBodyBuffersReuse(t *testing.T) {
	bufs := &bodyBuffers{}
	var kept [][]byte
	var want []string
	for i, tc := range []struct {
		n    int
		size int64
	}{{300 << 10, 300 << 10}, {200 << 10, -1}, {64 << 10, 64 << 10}, {300 << 10, -1}, {500 << 10, 500 << 10}} {
		data := bytes.Repeat([]byte{byte('a' + i)}, tc.n)
		got, err := readGrowing(bytes.NewReader(data), tc.size, 1<<20, nil, bufs)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("body %d: %d bytes, %v", i, len(got), err)
		}
		kept, want = append(kept, got), append(want, string(data))
		// A failed read gives its buffers back.
		if _, err := readGrowing(bytes.NewReader(data), int64(tc.n)+1, 1<<20, nil, bufs); err == nil {
			t.Fatalf("body %d one byte short was read", i)
		}
	}
	for i := range kept {
		if string(kept[i]) != want[i] {
			t.Errorf("body %d changed after later bodies were read", i)
		}
	}
	// What a body grew out of is kept (sync.Pool may drop what it is
	// given, so try a few times).
	kept64 := false
	for range 10 {
		if _, err := readGrowing(bytes.NewReader(make([]byte, 100<<10)), 100<<10, 1<<20, nil, bufs); err != nil {
			t.Fatal(err)
		}
		if p, ok := bufs.pools[0].Get().(*[]byte); ok && cap(*p) == firstBodyBuffer {
			kept64 = true
			break
		}
	}
	if !kept64 {
		t.Error("the 64 KiB buffer a body grew out of was never kept")
	}
}

// rawRequest opens a TCP connection to base from the local address from
// (e.g. "127.0.0.2": the loopback network answers every 127.x address)
// and writes a POST's head with a Content-Length, and then body.
func rawRequest(t *testing.T, base, from, path string, contentLength int, header map[string]string, body []byte) net.Conn {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var head strings.Builder
	fmt.Fprintf(&head, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", path, u.Host, contentLength)
	if _, ok := header["Content-Type"]; !ok {
		head.WriteString("Content-Type: application/json\r\n")
	}
	for k, v := range header {
		fmt.Fprintf(&head, "%s: %s\r\n", k, v)
	}
	head.WriteString("\r\n")
	if _, err := io.WriteString(c, head.String()); err != nil {
		t.Fatal(err)
	}
	if len(body) > 0 {
		if _, err := c.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// readAnswer reads the response on c.
func readAnswer(t *testing.T, c net.Conn) (*http.Response, []byte) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(60 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// TestUnauthenticatedHoldsNoIngestSlot: requests that have sent headers
// and part of a body, unsigned, take none of the ingest slots; a signed
// batch is served while they wait.
func TestUnauthenticatedHoldsNoIngestSlot(t *testing.T) {
	e := newLimitsEnv(t, Options{MaxInflightIngest: 2})
	for range 4 {
		rawRequest(t, e.http.URL, "127.0.0.2", "/v1/events", 1000, e.claim("AKIAALICEADMIN000001", ""), []byte(`{"Records":[`))
	}
	waitFor(t, "the unsigned requests to be read", func() bool {
		_, n, _ := e.srv.preAuth.inUse("127.0.0.2")
		return n == 4
	})
	if len(e.srv.ingestSlots) != 0 {
		t.Fatalf("unsigned requests hold %d ingest slots", len(e.srv.ingestSlots))
	}
	resp, b := e.post(t, "AKIAALICEADMIN000001", "alice-secret", "us-east-1", "/v1/events", "", nil, []byte(`{"Records":[]}`))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("signed ingest while unsigned requests wait: HTTP %d %s", resp.StatusCode, b)
	}
}

// TestUnauthenticatedPerAddress: beyond its requests per address, a
// request is answered 429 with Retry-After before its body is read, and
// its connection is closed; other addresses, and signed requests that
// declare their payload hash, are still served.
func TestUnauthenticatedPerAddress(t *testing.T) {
	e := newLimitsEnv(t, Options{UnauthenticatedRequestsPerAddress: 2})
	held := []net.Conn{
		rawRequest(t, e.http.URL, "127.0.0.1", "/v1/events", 1000, e.claim("AKIAALICEADMIN000001", ""), []byte("{")),
		rawRequest(t, e.http.URL, "127.0.0.1", "/", 1000, e.claim("AKIABOBADMIN00000001", "CloudTrail_20131101.DescribeTrails"), []byte("{")),
	}
	waitFor(t, "the two requests to be read", func() bool {
		_, n, _ := e.srv.preAuth.inUse("127.0.0.1")
		return n == 2
	})
	third := rawRequest(t, e.http.URL, "127.0.0.1", "/v1/events", 1000, e.claim("AKIABOBADMIN00000001", ""), nil)
	resp, b := readAnswer(t, third)
	wantThrottled(t, resp, b, http.StatusTooManyRequests)
	if resp.Header.Get("Retry-After") != "1" || !resp.Close {
		t.Fatalf("429 with Retry-After %q, close %v; want 1 and the connection closed", resp.Header.Get("Retry-After"), resp.Close)
	}
	// A signed request from the same address whose body must be read
	// first is refused alike…
	resp, b = e.post(t, "AKIAALICEADMIN000001", "alice-secret", "us-east-1", "/v1/events", "", nil, []byte(`{"Records":[]}`))
	wantThrottled(t, resp, b, http.StatusTooManyRequests)
	// …one that declares its payload hash is verified first and served.
	payload := []byte(`{"Records":[]}`)
	dresp, err := e.http.Client().Do(e.declaredRequest(t, "/v1/events", bytes.NewReader(payload), payload))
	if err != nil {
		t.Fatal(err)
	}
	dresp.Body.Close()
	if dresp.StatusCode != http.StatusOK {
		t.Fatalf("signed request with X-Amz-Content-Sha256: HTTP %d", dresp.StatusCode)
	}
	// Another address is not held back.
	other := rawRequest(t, e.http.URL, "127.0.0.3", "/v1/events", 2, nil, []byte("{}"))
	if resp, b := readAnswer(t, other); resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "MissingAuthenticationToken") {
		t.Fatalf("unsigned request of another address: HTTP %d %s, want MissingAuthenticationTokenException", resp.StatusCode, b)
	}
	// When the held requests end, the address's share is given back.
	for _, c := range held {
		c.Close()
	}
	waitFor(t, "the held requests to end", func() bool {
		total, n, _ := e.srv.preAuth.inUse("127.0.0.1")
		return n == 0 && total == 0
	})
	if resp, b := e.post(t, "AKIAALICEADMIN000001", "alice-secret", "us-east-1", "/v1/events", "", nil, []byte(`{"Records":[]}`)); resp.StatusCode != 200 {
		t.Fatalf("after the held requests ended: HTTP %d %s", resp.StatusCode, b)
	}
}

// TestUnauthenticatedBytes: a body is refused once it would take its
// address beyond its bytes, or all addresses beyond theirs.
func TestUnauthenticatedBytes(t *testing.T) {
	// 400 KiB in all, of which requests not proven may use 300 KiB.
	e := newLimitsEnv(t, Options{UnauthenticatedBytesPerAddress: 200 << 10, UnauthenticatedBodyBytes: 400 << 10})
	big := bytes.Repeat([]byte(" "), 300<<10)
	c := rawRequest(t, e.http.URL, "127.0.0.2", "/v1/events", len(big), e.claim("AKIAALICEADMIN000001", ""), big)
	resp, b := readAnswer(t, c)
	wantThrottled(t, resp, b, http.StatusTooManyRequests)

	// Two addresses of 150 KiB each hold those 300 KiB (140 KiB sent fill
	// a 128 KiB buffer, which then grows to the 150 KiB declared): a
	// third address's first buffer does not fit.
	part := bytes.Repeat([]byte(" "), 140<<10)
	rawRequest(t, e.http.URL, "127.0.0.2", "/v1/events", 150<<10, e.claim("AKIAALICEADMIN000001", ""), part)
	rawRequest(t, e.http.URL, "127.0.0.3", "/v1/events", 150<<10, e.claim("AKIABOBADMIN00000001", ""), part)
	waitFor(t, "two addresses to hold 150 KiB each", func() bool {
		total, _, _ := e.srv.preAuth.inUse("")
		return total == 300<<10
	})
	c = rawRequest(t, e.http.URL, "127.0.0.4", "/v1/events", 150<<10, e.claim("AKIABOBADMIN00000001", ""), part)
	resp, b = readAnswer(t, c)
	wantThrottled(t, resp, b, http.StatusTooManyRequests)
	if total, _, _ := e.srv.preAuth.inUse(""); total != 300<<10 {
		t.Fatalf("a refused request left %d bytes held, want 300 KiB", total)
	}
}

// TestBodyReadTimeout: a body that does not arrive in time is answered
// SerializationException and gives back everything it held.
func TestBodyReadTimeout(t *testing.T) {
	e := newLimitsEnv(t, Options{BodyReadTimeout: 100 * time.Millisecond})
	for _, path := range []string{"/v1/events", "/"} {
		c := rawRequest(t, e.http.URL, "127.0.0.2", path, 1000, e.claim("AKIAALICEADMIN000001", "CloudTrail_20131101.DescribeTrails"), []byte("{"))
		resp, b := readAnswer(t, c)
		if typ, msg := errType(t, b); resp.StatusCode != http.StatusBadRequest || typ != "SerializationException" || !strings.Contains(msg, "did not arrive within 100ms") {
			t.Fatalf("%s: HTTP %d %s %q, want SerializationException", path, resp.StatusCode, typ, msg)
		}
		if !resp.Close {
			t.Fatalf("%s: the connection stays open", path)
		}
	}
	waitFor(t, "the requests to give back their share", func() bool {
		total, n, _ := e.srv.preAuth.inUse("127.0.0.2")
		return total == 0 && n == 0
	})
}

// formConsole is a console that reads its form, waits when asked to
// (beyond the body deadline), and answers 503 if its request's context
// ended meanwhile.
var formConsole = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if r.PostForm.Get("wait") != "" {
		time.Sleep(200 * time.Millisecond)
	}
	if err := r.Context().Err(); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ok")
})

// mountForms mounts formConsole as the console (Options.Console).
func mountForms(*Server) http.Handler { return formConsole }

var formHeader = map[string]string{"Content-Type": "application/x-www-form-urlencoded"}

// TestConsoleFormsBounded: console requests with a body count against the
// bounds of requests not yet authenticated.
func TestConsoleFormsBounded(t *testing.T) {
	e := newLimitsEnv(t, Options{UnauthenticatedRequestsPerAddress: 1, Console: mountForms})
	rawRequest(t, e.http.URL, "127.0.0.2", "/console/login", 100, formHeader, []byte("a="))
	waitFor(t, "the first form to be counted", func() bool {
		_, n, _ := e.srv.preAuth.inUse("127.0.0.2")
		return n == 1
	})
	second := rawRequest(t, e.http.URL, "127.0.0.2", "/console/login", 3, formHeader, []byte("a=1"))
	resp, b := readAnswer(t, second)
	wantThrottled(t, resp, b, http.StatusTooManyRequests)
	other := rawRequest(t, e.http.URL, "127.0.0.3", "/console/login", 3, formHeader, []byte("a=1"))
	if resp, b := readAnswer(t, other); resp.StatusCode != http.StatusOK {
		t.Fatalf("form of another address: HTTP %d %s", resp.StatusCode, b)
	}
}

// TestBodyDeadlineLiftedAfterRead: a body read in time does not end its
// request's context when the body deadline passes while it is served.
func TestBodyDeadlineLiftedAfterRead(t *testing.T) {
	e := newLimitsEnv(t, Options{BodyReadTimeout: 50 * time.Millisecond, Console: mountForms})
	c := rawRequest(t, e.http.URL, "127.0.0.1", "/console/login", 6, formHeader, []byte("wait=1"))
	if resp, b := readAnswer(t, c); resp.StatusCode != http.StatusOK {
		t.Fatalf("console form served beyond the body deadline: HTTP %d %s", resp.StatusCode, b)
	}
}

// claim returns the headers of a request that names key, with the server's
// current date and the right form, and a signature that is not key's:
// what anyone who has seen the key id can send. target, if not empty, is
// its X-Amz-Target (signed, as it must be).
func (e *limitsEnv) claim(key, target string) map[string]string {
	now := e.clock.Now().UTC()
	h := map[string]string{"X-Amz-Date": now.Format("20060102T150405Z")}
	signed := "host;x-amz-date"
	if target != "" {
		h["X-Amz-Target"] = target
		signed += ";x-amz-target"
	}
	h["Authorization"] = "AWS4-HMAC-SHA256 Credential=" + key + "/" + now.Format("20060102") + "/us-east-1/cloudtrail/aws4_request, SignedHeaders=" +
		signed + ", Signature=" + strings.Repeat("0", 64)
	return h
}

// TestUnauthenticatedRefusedBeforeBody: a request that names no known key
// with a current date, in the right form, is refused before a byte of its
// body is read, and holds nothing; one that does is read, and its forged
// signature then refused.
func TestUnauthenticatedRefusedBeforeBody(t *testing.T) {
	e := newLimitsEnv(t, Options{})
	good := e.claim("AKIAALICEADMIN000001", "")
	stale := e.claim("AKIAALICEADMIN000001", "")
	stale["X-Amz-Date"] = e.clock.Now().UTC().Add(-time.Hour).Format("20060102T150405Z")
	stale["Authorization"] = strings.Replace(stale["Authorization"], e.clock.Now().UTC().Format("20060102"), e.clock.Now().UTC().Add(-time.Hour).Format("20060102"), 1)
	for name, c := range map[string]struct {
		header map[string]string
		code   string
	}{
		"no authorization": {nil, "MissingAuthenticationTokenException"},
		"malformed":        {map[string]string{"Authorization": "AWS4-HMAC-SHA256 nonsense"}, "IncompleteSignatureException"},
		"unknown key":      {e.claim("AKIANOBODY0000000001", ""), "UnrecognizedClientException"},
		"stale date":       {stale, "InvalidSignatureException"},
	} {
		conn := rawRequest(t, e.http.URL, "127.0.0.2", "/v1/events", 8<<20, c.header, []byte("{"))
		resp, b := readAnswer(t, conn)
		if typ, _ := errType(t, b); typ != c.code || !resp.Close {
			t.Errorf("%s: HTTP %d %s (close %v), want %s at once and the connection closed", name, resp.StatusCode, b, resp.Close, c.code)
		}
		if total, n, _ := e.srv.preAuth.inUse("127.0.0.2"); total != 0 || n != 0 {
			t.Errorf("%s: refused request holds %d bytes, %d requests", name, total, n)
		}
	}
	conn := rawRequest(t, e.http.URL, "127.0.0.2", "/v1/events", 2, good, []byte("{}"))
	if resp, b := readAnswer(t, conn); resp.StatusCode == http.StatusOK || !strings.Contains(string(b), "InvalidSignatureException") {
		t.Fatalf("a forged signature naming a real key: HTTP %d %s, want InvalidSignatureException", resp.StatusCode, b)
	}
}

// TestUnauthenticatedGrowsWithBytesSent: a body's buffer grows with the
// bytes that have arrived, not with its Content-Length: 64 KiB and a byte
// of a declared 8 MiB hold 128 KiB, not 8 MiB.
func TestUnauthenticatedGrowsWithBytesSent(t *testing.T) {
	e := newLimitsEnv(t, Options{})
	rawRequest(t, e.http.URL, "127.0.0.2", "/v1/events", 8<<20, e.claim("AKIAALICEADMIN000001", ""), bytes.Repeat([]byte(" "), 64<<10+1))
	waitFor(t, "the body's second buffer", func() bool {
		_, _, held := e.srv.preAuth.inUse("127.0.0.2")
		return held >= 128<<10
	})
	if _, _, held := e.srv.preAuth.inUse("127.0.0.2"); held != 128<<10 {
		t.Fatalf("64 KiB + 1 of a declared 8 MiB hold %d bytes, want 128 KiB", held)
	}
}

// TestUnauthenticatedBytesPerKey: the requests not proven that name one
// key from one address hold at most its bytes, and take nothing of that
// key's bytes at another address; proven requests of one key hold at most
// its bytes across all addresses; another key is still read.
func TestUnauthenticatedBytesPerKey(t *testing.T) {
	p := newPreAuth(10, 1<<20, 100, 1<<20)
	a, _ := p.enter("192.0.2.1", "alice", false)
	a2, _ := p.enter("192.0.2.1", "alice", false)
	if !a.reserve(60) || a2.reserve(41) || !a2.reserve(40) {
		t.Fatal("alice's 100 bytes from one address were not bounded")
	}
	b, _ := p.enter("192.0.2.2", "alice", false)
	if !b.reserve(100) {
		t.Fatal("alice's key from another address was refused while strangers fill her share at 192.0.2.1")
	}
	c, _ := p.enter("192.0.2.2", "bob", false)
	if !c.reserve(100) {
		t.Fatal("bob was refused while alice's key is full")
	}
	a.release()
	if !a2.reserve(100) {
		t.Fatal("bytes alice's key gave back are not available again")
	}
	pa, _ := p.enter("192.0.2.3", "alice", true)
	pb, _ := p.enter("192.0.2.4", "alice", true)
	if !pa.reserve(60) || pb.reserve(41) || !pb.reserve(40) {
		t.Fatal("alice's proven requests were not bounded to her key's bytes across addresses")
	}
	for _, h := range []*hold{a2, b, c, pa, pb} {
		h.release()
	}
	if len(p.keys) != 0 || p.used != 0 {
		t.Fatalf("after every release: keys %v, %d bytes", p.keys, p.used)
	}
}

// TestUnauthenticatedProvenNotStarved: strangers who name alice's and
// bob's key ids fill alice's share and every byte that requests not
// proven may use; alice, whose key proved itself from her address
// earlier, is still served there from the reserve, while an unproven
// caller is refused.
func TestUnauthenticatedProvenNotStarved(t *testing.T) {
	e := newLimitsEnv(t, Options{UnauthenticatedBodyBytes: 512 << 10, UnauthenticatedBytesPerAddress: 256 << 10,
		UnauthenticatedBytesPerKey: 256 << 10})
	payload := []byte(`{"Records":[]}`)
	if resp, b := e.post(t, "AKIAALICEADMIN000001", "alice-secret", "us-east-1", "/v1/events", "", nil, payload); resp.StatusCode != 200 {
		t.Fatalf("alice before: HTTP %d %s", resp.StatusCode, b)
	}
	// 128 KiB + 1 sent hold 256 KiB (alice's share), 64 KiB + 1 hold 128
	// KiB: 384 KiB, all that requests not proven may use of 512 KiB.
	rawRequest(t, e.http.URL, "127.0.0.2", "/v1/events", 1<<20, e.claim("AKIAALICEADMIN000001", ""), bytes.Repeat([]byte(" "), 128<<10+1))
	rawRequest(t, e.http.URL, "127.0.0.3", "/v1/events", 1<<20, e.claim("AKIABOBADMIN00000001", ""), bytes.Repeat([]byte(" "), 64<<10+1))
	waitFor(t, "the strangers to hold 384 KiB", func() bool {
		total, _, _ := e.srv.preAuth.inUse("")
		return total == 384<<10
	})
	if resp, b := e.post(t, "AKIAALICEADMIN000001", "alice-secret", "us-east-1", "/v1/events", "", nil, payload); resp.StatusCode != 200 {
		t.Fatalf("alice from her address while strangers name her key: HTTP %d %s", resp.StatusCode, b)
	}
	c := rawRequest(t, e.http.URL, "127.0.0.4", "/v1/events", len(payload), e.claim("AKIABOBADMIN00000001", ""), payload)
	resp, b := readAnswer(t, c)
	wantThrottled(t, resp, b, http.StatusTooManyRequests)
}

func TestProvenForgets(t *testing.T) {
	v := newProven()
	now := time.Now()
	v.vouch("k", "a", now)
	if !v.has("k", "a", now.Add(provenWindow)) || v.has("k", "a", now.Add(provenWindow+time.Second)) || v.has("k", "b", now) || v.has("j", "a", now) {
		t.Fatal("proven: wrong key, address or window")
	}
	for i := range provenPerKey + 10 {
		v.vouch("k", fmt.Sprint("addr", i), now.Add(time.Duration(i)*time.Second))
	}
	if n := len(v.keys["k"]); n != provenPerKey {
		t.Fatalf("%d addresses kept for a key, want %d", n, provenPerKey)
	}
	if !v.has("k", fmt.Sprint("addr", provenPerKey+9), now.Add(time.Minute)) || v.has("k", "a", now) {
		t.Fatal("the newest address was forgotten, or the oldest kept")
	}
}

// TestConsoleFormsReserveAsRead: a console form's bytes are reserved as
// they are read, not from its Content-Length: heads announcing 256 KiB
// forms, from many addresses, hold next to nothing of the bytes console
// forms may hold (one key's share), and a sign-in form is read meanwhile.
// Each used to reserve its whole Content-Length at once: 32 such heads
// filled the console's 8 MiB.
func TestConsoleFormsReserveAsRead(t *testing.T) {
	e := newLimitsEnv(t, Options{Console: mountForms, UnauthenticatedBytesPerKey: 1 << 20})
	for i := range 16 {
		rawRequest(t, e.http.URL, fmt.Sprintf("127.0.0.%d", 2+i), "/console/login", 256<<10, formHeader, []byte("a=1&b="))
	}
	waitFor(t, "the heads to be counted", func() bool {
		_, n, _ := e.srv.preAuth.inUse("127.0.0.17")
		return n == 1
	})
	e.srv.preAuth.mu.Lock()
	held := e.srv.preAuth.keys[consoleKey]
	e.srv.preAuth.mu.Unlock()
	if held > 16*(64<<10) {
		t.Fatalf("16 form heads of 256 KiB with a few bytes each hold %d bytes", held)
	}
	form := rawRequest(t, e.http.URL, "127.0.0.30", "/console/login", 3, formHeader, []byte("a=1"))
	if resp, b := readAnswer(t, form); resp.StatusCode != http.StatusOK {
		t.Fatalf("a sign-in form while heads wait: HTTP %d %s", resp.StatusCode, b)
	}
}

// TestProvenKeyHalfTheReserve: one key proven at two addresses takes what
// is open and half the reserve, not all of it: another proven key still
// gets the other half.
func TestProvenKeyHalfTheReserve(t *testing.T) {
	p := newPreAuth(10, 300, 400, 400) // reserve 100, open 300
	a1, _ := p.enter("192.0.2.1", "alice", true)
	a2, _ := p.enter("192.0.2.2", "alice", true)
	if !a1.reserve(300) || !a2.reserve(50) {
		t.Fatal("alice's proven requests refused what is open and half the reserve")
	}
	if a2.reserve(51) {
		t.Fatal("one proven key took more than half the reserve")
	}
	b, _ := p.enter("192.0.2.3", "bob", true)
	if !b.reserve(50) {
		t.Fatal("bob, proven, refused the other half of the reserve")
	}
	if s, _ := p.enter("192.0.2.4", "carol", false); s.reserve(1) {
		t.Fatal("a request not proven took from the reserve")
	}
}
