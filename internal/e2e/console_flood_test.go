package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// floodSignIn plays the attack on console forms: from each address, conns
// connections send POST /console/login with a 256 KiB body (and the
// sign-in page's cookie, which anyone can fetch), all of it but 8 bytes,
// and wait for the answer; then again, until stop is closed. It returns
// once every connection has sent its bytes once, and a func that waits for
// the attack to end.
func floodSignIn(t *testing.T, srv *Server, addrs []string, conns int, stop <-chan struct{}) (wait func()) {
	t.Helper()
	resp, err := http.Get(srv.URL + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookie := ""
	for _, ck := range resp.Cookies() {
		if ck.Name == "cairn_login" {
			cookie = ck.Name + "=" + ck.Value
		}
	}
	if cookie == "" {
		t.Fatal("the sign-in page set no cairn_login cookie")
	}
	const size = 256 << 10
	head := fmt.Sprintf("POST /console/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
		"Cookie: %s\r\nContent-Length: %d\r\n\r\n", srv.Addr, cookie, size)
	body := append([]byte("a="), bytes.Repeat([]byte("b"), size-10)...)
	return holdConnections(srv, addrs, conns, stop, func(c net.Conn, _ int) {
		io.WriteString(c, head)
		c.Write(body)
	})
}

// TestConsoleSignInFormFloodOthersSignIn: a stranger without credentials,
// from two addresses, holds 16 connections each that send 256 KiB sign-in
// forms (but their last bytes), with the sign-in page's cookie. Alice
// still signs in to the console from her address. Every console form used
// to be counted against one shared 8 MiB before it was read, each up to
// 256 KiB: the stranger's 32 forms filled it, and every other console form
// was answered 403 "The form could not be read."
func TestConsoleSignInFormFloodOthersSignIn(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	stop := make(chan struct{})
	wait := floodSignIn(t, srv, []string{"127.0.0.2", "127.0.0.3"}, 16, stop)
	defer func() { close(stop); wait() }()
	// The server says nothing to a stranger before the end of its form
	// arrives, so there is nothing to poll for: give it time to read the
	// forms sent (a form of alice's racing them might leave a stranger's
	// refused, and a gap while it reconnects).
	time.Sleep(2 * time.Second)

	for round := range 20 {
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		a := conHTTPSignIn(t, c, srv, AdminKey, AdminSecret)
		t.Logf("round %d: %d %.200s", round, a.status, a.body)
		if a.session == nil {
			t.Fatalf("round %d: alice's sign-in while a stranger floods the sign-in form: HTTP %d %s", round, a.status, a.body)
		}
	}
	wantHealthy(t, srv)
}
