package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// postFrom sends a request signed as botocore and the AWS CLI sign one:
// aws-sdk-go-v2's v4 signer over the body's hash, without an
// X-Amz-Content-Sha256 header (unless declared), so that the server must
// read the body before it can check the signature. It is sent from the
// local address from; a refused connection or an error is status 0.
func postFrom(t *testing.T, srv *Server, from, key, secret, path string, body []byte, header map[string]string, declared bool) (int, []byte) {
	t.Helper()
	h := map[string]string{"Content-Type": "application/x-amz-json-1.1"}
	for k, v := range header {
		h[k] = v
	}
	req := srv.SignedRequest(t, key, secret, path, body, h, time.Now(), declared)
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}).DialContext,
	}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// floodBodies plays the attack on the budget of bodies read before
// authentication: from each address, conns connections send the head of
// POST /v1/events announcing 8 MiB, with a forged signature naming one of
// keys in turn (no Authorization for a key ""), then sent bytes of the
// body, and wait for the answer (which comes after the body deadline);
// then again, until stop is closed. It returns once every connection has
// sent its bytes once, and a func that waits for the attack to end.
func floodBodies(t *testing.T, srv *Server, addrs []string, conns int, keys []string, sent int, stop <-chan struct{}) (wait func()) {
	t.Helper()
	body := append([]byte("{"), bytes.Repeat([]byte(" "), sent-1)...)
	return holdConnections(srv, addrs, conns, stop, func(c net.Conn, j int) {
		auth := ""
		if key := keys[j%len(keys)]; key != "" {
			auth = claim(key, "")
		}
		headOnly(c, srv, "/v1/events", 8<<20, auth)
		c.Write(body)
	})
}

// holdConnections is an attacker's flood: from each address, conns
// connections each send what send writes (the j-th connection of its
// address), then wait for the server's answer and close, and start again,
// until stop is closed. It returns once every connection has sent once,
// and a func that waits for the flood to end.
func holdConnections(srv *Server, addrs []string, conns int, stop <-chan struct{}, send func(c net.Conn, j int)) (wait func()) {
	var first, all sync.WaitGroup
	for _, from := range addrs {
		for j := range conns {
			first.Add(1)
			all.Add(1)
			go func() {
				defer all.Done()
				once := sync.OnceFunc(first.Done)
				defer once()
				for {
					select {
					case <-stop:
						return
					default:
					}
					d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
					c, err := d.Dial("tcp", srv.Addr)
					if err != nil {
						time.Sleep(50 * time.Millisecond) // an attacker's pace, not a wait for the server
						continue
					}
					send(c, j)
					once()
					go func() { <-stop; c.Close() }()
					c.SetReadDeadline(time.Now().Add(time.Minute))
					io.Copy(io.Discard, c) // until the server answers and closes, or stop
					c.Close()
					time.Sleep(50 * time.Millisecond)
				}
			}()
		}
	}
	first.Wait()
	return all.Wait
}

// TestUnauthenticatedFloodSignedCallersServed: callers without credentials
// flood the bodies read before authentication from eight addresses, as a
// security review did against a running server: each connection sends
// the head of an 8 MiB POST /v1/events, with no Authorization or with a
// forged signature naming a real key (the victims' own among them), and
// 64 KiB and a byte of its body, and holds. Meanwhile signed calls made as
// the AWS CLI makes them (no X-Amz-Content-Sha256: the body is read before
// the signature is checked) keep succeeding: alice's DescribeTrails from
// 127.0.0.1, ivan's ingest from 127.0.0.10, and rita's first call, from an
// address new to her key. The server used to reserve the whole declared 8
// MiB once 64 KiB had arrived: two such connections filled an address's
// 16 MiB, four addresses the 64 MiB in all, and every other caller got
// 429 for as long as they held.
func TestUnauthenticatedFloodSignedCallersServed(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	describe := func(from, key, secret string) (int, []byte) {
		return postFrom(t, srv, from, key, secret, "/", []byte("{}"),
			map[string]string{"X-Amz-Target": "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails"}, false)
	}
	ingest := func(name string) (int, []byte) {
		body, _ := json.Marshal(map[string]any{"Records": []any{Record(name, "flood.example.com", "us-east-1", at, nil)}})
		return postFrom(t, srv, "127.0.0.10", IngestKey, IngestSecret, "/v1/events", body, nil, false)
	}
	// At work before the attack.
	if status, b := describe("127.0.0.1", AdminKey, AdminSecret); status != http.StatusOK {
		t.Fatalf("DescribeTrails before the attack: HTTP %d %s", status, b)
	}
	if status, b := ingest("Before"); status != http.StatusOK {
		t.Fatalf("ingest before the attack: HTTP %d %s", status, b)
	}

	stop := make(chan struct{})
	var addrs []string
	for i := 2; i <= 9; i++ {
		addrs = append(addrs, fmt.Sprintf("127.0.0.%d", i))
	}
	wait := floodBodies(t, srv, addrs, 6, []string{"", AdminKey, IngestKey, "", ReaderKey, OtherKey}, 64<<10+1, stop)
	defer func() { close(stop); wait() }()

	for round := range 20 {
		if status, b := describe("127.0.0.1", AdminKey, AdminSecret); status != http.StatusOK {
			t.Fatalf("round %d: alice's DescribeTrails during the flood: HTTP %d %s", round, status, b)
		}
		if status, b := ingest(fmt.Sprintf("During%d", round)); status != http.StatusOK || !strings.Contains(string(b), `"accepted":1`) {
			t.Fatalf("round %d: ivan's ingest during the flood: HTTP %d %s", round, status, b)
		}
	}
	if status, b := describe("127.0.0.11", ReaderKey, ReaderSecret); status != http.StatusOK {
		t.Fatalf("rita's first DescribeTrails, during the flood: HTTP %d %s", status, b)
	}
	wantHealthy(t, srv)
}

// TestUnauthenticatedFloodOfOneKeyOwnerServed: strangers who know alice's
// access key id (it is no secret) name it in forged requests from eight
// addresses, each sending 128 KiB and a byte of an 8 MiB body: more than
// the 8 MiB of bodies that requests naming one key may hold before they
// are authenticated. Alice keeps being served as the AWS CLI signs (the
// body read before the signature is checked), from her address and from
// addresses her key has never been used from. The server used to count
// the requests naming a key against that key from every address: the
// strangers filled it, and alice was refused 429 wherever her key had not
// proved itself lately.
func TestUnauthenticatedFloodOfOneKeyOwnerServed(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	describe := func(from string) (int, []byte) {
		return postFrom(t, srv, from, AdminKey, AdminSecret, "/", []byte("{}"),
			map[string]string{"X-Amz-Target": "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails"}, false)
	}
	if status, b := describe("127.0.0.1"); status != http.StatusOK {
		t.Fatalf("DescribeTrails before the attack: HTTP %d %s", status, b)
	}
	stop := make(chan struct{})
	var addrs []string
	for i := 2; i <= 9; i++ {
		addrs = append(addrs, fmt.Sprintf("127.0.0.%d", i))
	}
	wait := floodBodies(t, srv, addrs, 6, []string{AdminKey}, 128<<10+1, stop)
	defer func() { close(stop); wait() }()

	for i := 1; i <= 10; i++ {
		if status, b := describe(fmt.Sprintf("127.0.1.%d", i)); status != http.StatusOK {
			t.Fatalf("alice's DescribeTrails from new address 127.0.1.%d while strangers name her key: HTTP %d %s", i, status, b)
		}
		if status, b := describe("127.0.0.1"); status != http.StatusOK {
			t.Fatalf("round %d: alice's DescribeTrails from her address while strangers name her key: HTTP %d %s", i, status, b)
		}
	}
	wantHealthy(t, srv)
}

// TestProvenKeyCannotTakeEveryByte: a tenant proves its ingest key from
// four addresses, then from each sends the heads of two 8 MiB bodies
// (signed as the AWS CLI signs: the body is read before the signature is
// checked) and 4 MiB and a byte of each, and holds. Alice, proven at her
// address, is still served. The server used to hold a proven key to no
// share of its own: the tenant's 64 MiB took every byte that may be held
// before authentication, the reserve for proven callers too, and every
// other caller got 429.
func TestProvenKeyCannotTakeEveryByte(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	describe := func() (int, []byte) {
		return postFrom(t, srv, "127.0.0.1", AdminKey, AdminSecret, "/", []byte("{}"),
			map[string]string{"X-Amz-Target": "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails"}, false)
	}
	if status, b := describe(); status != http.StatusOK {
		t.Fatalf("DescribeTrails before the attack: HTTP %d %s", status, b)
	}
	var addrs []string
	for i := 2; i <= 5; i++ {
		from := fmt.Sprintf("127.0.0.%d", i)
		addrs = append(addrs, from)
		body, _ := json.Marshal(map[string]any{"Records": []any{Record(fmt.Sprintf("Prove%d", i), "proven.example.com", "us-east-1", at, nil)}})
		if status, b := postFrom(t, srv, from, IngestKey, IngestSecret, "/v1/events", body, nil, false); status != http.StatusOK {
			t.Fatalf("ivan's ingest from %s: HTTP %d %s", from, status, b)
		}
	}
	stop := make(chan struct{})
	wait := floodBodies(t, srv, addrs, 2, []string{IngestKey}, 4<<20+1, stop)
	defer func() { close(stop); wait() }()

	for round := range 10 {
		if status, b := describe(); status != http.StatusOK {
			t.Fatalf("round %d: alice's DescribeTrails while one proven key holds bodies from four addresses: HTTP %d %s", round, status, b)
		}
	}
	wantHealthy(t, srv)
}

// signedHead returns the head of a POST /v1/events signed with key and
// secret, declaring the SHA-256 of body in X-Amz-Content-Sha256 (signed),
// with Expect: 100-continue, so that the server says when it starts
// reading the body; the body itself is not part of it.
func signedHead(t *testing.T, srv *Server, key, secret string, body []byte) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/events", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(body)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret},
		req, hex.EncodeToString(sum[:]), "cloudtrail", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	var head strings.Builder
	fmt.Fprintf(&head, "POST /v1/events HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\nExpect: 100-continue\r\n", srv.Addr, len(body))
	for k, vs := range req.Header {
		for _, v := range vs {
			fmt.Fprintf(&head, "%s: %s\r\n", k, v)
		}
	}
	head.WriteString("\r\n")
	return head.String()
}

// TestIngestKeyCannotHoldEverySlot: one tenant's ingest key opens 80
// connections, from four addresses, that send correctly signed heads of
// POST /v1/events declaring the hash of a body that never comes. Another
// account's ingest is served throughout, with and without a declared
// hash. The server used to take an ingest slot once the signature was
// checked and before the body was read, with no bound per key or address:
// the 64 slots were held for the body deadline, and every account's
// ingest got 429.
func TestIngestKeyCannotHoldEverySlot(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	empty := []byte(`{"Records":[]}`)

	const conns = 80
	var attack []heldConn
	for i := range conns {
		c := dialFrom(t, srv, fmt.Sprintf("127.0.0.%d", 2+i%4))
		if _, err := io.WriteString(c, signedHead(t, srv, IngestKey, IngestSecret, empty)); err != nil {
			t.Fatal(err)
		}
		attack = append(attack, heldConn{c, bufio.NewReader(c)})
	}
	reading, refused := 0, 0
	for i, c := range attack {
		line, err := c.firstLine()
		switch {
		case strings.HasPrefix(line, "HTTP/1.1 100"):
			reading++
		case strings.HasPrefix(line, "HTTP/1.1 429"):
			refused++
		default:
			t.Fatalf("connection %d: first answer %q (%v)", i, line, err)
		}
	}
	t.Logf("%d bodiless signed requests of one ingest key: %d being read, %d refused with 429", conns, reading, refused)

	for round := range 5 {
		body, _ := json.Marshal(map[string]any{"Records": []any{Record(fmt.Sprintf("Other%d", round), "slots.example.com", "us-east-1", at, nil)}})
		for _, declared := range []bool{true, false} {
			status, b := postFrom(t, srv, "127.0.0.1", OtherKey, OtherSecret, "/v1/events", body, nil, declared)
			if status != http.StatusOK || !strings.Contains(string(b), `"accepted":1`) {
				t.Fatalf("round %d: another account's ingest (declared hash %v) while one key holds %d requests: HTTP %d %s",
					round, declared, reading, status, b)
			}
		}
	}
	for _, c := range attack {
		c.Close()
	}
	wantHealthy(t, srv)
}

// TestReplayedSignedHeadHoldsOnePlace: an outsider who captured one of
// ivan's signed ingest requests (declaring its body's hash) replays its
// head, with no body, on 16 connections from 127.0.0.7, within the
// minutes its date is good (SigV4 has no nonce). At most one is read (a
// client never sends one signature twice at once); ivan's own ingest, with
// a declared hash, is served throughout. The server used to give each
// replay an in-flight place of ivan's key once its head verified: the 16
// replays held all of the key's max_inflight_per_key places, and ivan got
// 429 until the body deadline.
func TestReplayedSignedHeadHoldsOnePlace(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	captured := signedHead(t, srv, IngestKey, IngestSecret, []byte(`{"Records":[]}`))

	var replays []heldConn
	for range 16 {
		c := dialFrom(t, srv, "127.0.0.7")
		if _, err := io.WriteString(c, captured); err != nil {
			t.Fatal(err)
		}
		replays = append(replays, heldConn{c, bufio.NewReader(c)})
	}
	defer func() {
		for _, c := range replays {
			c.Close()
		}
	}()
	reading := 0
	for i, c := range replays {
		line, err := c.firstLine()
		switch {
		case strings.HasPrefix(line, "HTTP/1.1 100"):
			reading++
		case strings.HasPrefix(line, "HTTP/1.1 429"):
		default:
			t.Fatalf("replay %d: first answer %q (%v)", i, line, err)
		}
	}
	if reading > 1 {
		t.Errorf("%d replays of one signed head are being read, want at most 1", reading)
	}
	for round := range 5 {
		body, _ := json.Marshal(map[string]any{"Records": []any{Record(fmt.Sprintf("Own%d", round), "replay.example.com", "us-east-1", at, nil)}})
		status, b := postFrom(t, srv, "127.0.0.1", IngestKey, IngestSecret, "/v1/events", body, nil, true)
		if status != http.StatusOK || !strings.Contains(string(b), `"accepted":1`) {
			t.Fatalf("round %d: ivan's ingest while his captured head is replayed: HTTP %d %s", round, status, b)
		}
	}
	wantHealthy(t, srv)
}
