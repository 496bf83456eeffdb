package server

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/cairn-audit/cairn/internal/auth"
	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/sigv4"
)

// DefaultBodyReadTimeout is how long a request body may take to arrive
// when Options.BodyReadTimeout is zero.
const DefaultBodyReadTimeout = 10 * time.Second

// firstBodyBuffer is the largest buffer a body gets before its bytes
// arrive: a body grows its buffer as it comes, so that a Content-Length
// alone reserves nothing much.
const firstBodyBuffer = 64 << 10

// errOverBudget says that a body would take its caller beyond the bytes
// allowed before authentication.
var errOverBudget = errors.New("pre-authentication body budget exhausted")

// signedRequest is a request whose signature is verified, with its body.
type signedRequest struct {
	principal *auth.Principal
	region    string
	body      []byte
}

// admitFunc is called once a request's signature is verified and before
// it is served; it may refuse the request, or take something (an ingest
// slot) that the returned func gives back.
type admitFunc func(p *auth.Principal) (release func(), err error)

// receive authenticates r (SigV4, service cloudtrail) and reads its body,
// at most limit bytes, so that a caller that has not proven who it is holds
// little and not for long:
//
//   - First everything about the signature that needs no body is checked
//     (sigv4.Verifier.Precheck): a request that does not name a real access
//     key with a current date, in the right form, is refused before a byte
//     of its body is read.
//   - A request that declares its payload hash (X-Amz-Content-Sha256, which
//     the signature covers) is verified before its body is read; it then
//     takes an in-flight place of its key and address (inflight), and its
//     body is read and checked against the hash.
//   - Any other request's signature covers a body the server must hash
//     first: its body is read within BodyReadTimeout and the bounds of
//     preAuth (per client address, per the key it names unless that key
//     proved itself from this address lately, and in all), then verified;
//     then it takes an in-flight place.
//
// Only then is it admitted (admit may be nil): admit may take something
// scarce (an ingest slot), which a caller whose body has not arrived so
// never holds. On success the caller must call done once the request is
// served. UNSIGNED-PAYLOAD is refused: Cairn's APIs always sign their
// bodies.
func (s *Server) receive(w http.ResponseWriter, r *http.Request, limit int64, admit admitFunc) (_ *signedRequest, done func(), _ error) {
	if admit == nil {
		admit = func(*auth.Principal) (func(), error) { return func() {}, nil }
	}
	hash, declared := sigv4.DeclaredPayloadHash(r)
	if !declared && r.ContentLength > limit {
		// Too large whoever sends it: no need to look further.
		s.refuseUnread(w, r)
		return nil, nil, tooLarge(limit)
	}
	key, err := s.verifier.Precheck(r, s.opts.Now())
	if err != nil {
		s.refuseUnread(w, r)
		return nil, nil, signatureError(err)
	}
	addr := clientKey(r.RemoteAddr)
	if declared {
		return s.receiveDeclared(w, r, limit, hash, addr, admit)
	}
	h, ok := s.preAuth.enter(addr, key, s.proven.has(key, addr, s.opts.Now()))
	if !ok {
		s.refuseUnread(w, r)
		return nil, nil, tooManyRequests()
	}
	body, err := s.readBody(w, r, limit, h)
	h.release()
	if err != nil {
		return nil, nil, err
	}
	p, region, err := s.authenticate(r, body, "cloudtrail")
	if err != nil {
		return nil, nil, err
	}
	s.proven.vouch(p.AccessKeyID, addr, s.opts.Now())
	leave, ok := s.inflight.enter(p.AccessKeyID, addr, "")
	if !ok {
		return nil, nil, tooManyRequests()
	}
	release, err := admit(p)
	if err != nil {
		leave()
		return nil, nil, err
	}
	return &signedRequest{principal: p, region: region, body: body}, both(release, leave), nil
}

// receiveDeclared serves receive for a request that declares its payload
// hash: signature, an in-flight place (one per signature: see
// inflight.enter), the body (checked against the hash), then admission.
// Its key is vouched for from its address (see proven) only once the body
// has arrived and matched: the head alone may be a replay of a captured
// request (SigV4 has no nonce), which proves nothing of the sender.
func (s *Server) receiveDeclared(w http.ResponseWriter, r *http.Request, limit int64, hash, addr string, admit admitFunc) (*signedRequest, func(), error) {
	res, err := s.verifier.VerifyDeclared(r, s.opts.Now())
	if err != nil {
		s.refuseUnread(w, r)
		return nil, nil, signatureError(err)
	}
	p, err := s.principal(res.AccessKeyID)
	if err != nil {
		s.refuseUnread(w, r)
		return nil, nil, err
	}
	if r.ContentLength > limit {
		s.refuseUnread(w, r)
		return nil, nil, tooLarge(limit)
	}
	leave, ok := s.inflight.enter(p.AccessKeyID, addr, signatureOf(r))
	if !ok {
		s.refuseUnread(w, r)
		return nil, nil, tooManyRequests()
	}
	body, err := s.readBody(w, r, limit, nil)
	if err == nil {
		if perr := sigv4.CheckPayload(hash, body); perr != nil {
			err = signatureError(perr)
		}
	}
	if err != nil {
		leave()
		return nil, nil, err
	}
	s.proven.vouch(p.AccessKeyID, addr, s.opts.Now())
	release, err := admit(p)
	if err != nil {
		leave()
		return nil, nil, err
	}
	return &signedRequest{principal: p, region: res.Region, body: body}, both(release, leave), nil
}

// signatureOf is what tells r's signature from every other: its
// Authorization header and any X-Amz-Signature of its query.
func signatureOf(r *http.Request) string {
	return r.Header.Get("Authorization") + "\n" + r.URL.Query().Get("X-Amz-Signature")
}

// both returns a func that calls a and then b.
func both(a, b func()) func() {
	return func() { a(); b() }
}

// refuseUnread prepares the answer to a request refused before its body
// was read: an HTTP/1 connection closes after the answer, and the server
// waits for the unread body at most BodyReadTimeout. (An HTTP/2 stream
// ends alone; Connection: close there would end every stream.)
func (s *Server) refuseUnread(w http.ResponseWriter, r *http.Request) {
	closeAfter(w, r)
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.opts.BodyReadTimeout))
}

// closeAfter closes an HTTP/1 connection after the answer: its request's
// body was not read to its end.
func closeAfter(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor < 2 {
		w.Header().Set("Connection", "close")
	}
}

// readBody reads r's body, at most limit bytes, within BodyReadTimeout.
// With a hold (a request not yet authenticated) every buffer is reserved
// from it before it is made; a body beyond the hold's bounds is refused
// with 429. A failed read closes the connection after the answer.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, limit int64, h *hold) ([]byte, error) {
	if r.ContentLength > limit {
		s.refuseUnread(w, r)
		return nil, tooLarge(limit)
	}
	rc := http.NewResponseController(w)
	deadline := rc.SetReadDeadline(time.Now().Add(s.opts.BodyReadTimeout)) == nil
	body, err := readGrowing(r.Body, r.ContentLength, limit, h, s.preAuth.buffers)
	if err != nil {
		closeAfter(w, r)
		switch {
		case errors.Is(err, errOverBudget):
			return nil, tooManyRequests()
		case errors.Is(err, errTooLarge):
			return nil, tooLarge(limit)
		case isTimeout(err):
			return nil, awsproto.Errorf(awsproto.SerializationException, "The request body did not arrive within %s.", s.opts.BodyReadTimeout)
		}
		return nil, awsproto.Errorf(awsproto.SerializationException, "The request body could not be read.")
	}
	if deadline {
		// The body is in: lift the deadline. net/http lifts it too when it
		// starts waiting for the connection's next request at the body's
		// end, but for an empty body that wait began before the deadline
		// was set, and the deadline passing during it would end this
		// request's context while it is served.
		rc.SetReadDeadline(time.Time{})
	}
	return body, nil
}

// errTooLarge says that a body is longer than its limit.
var errTooLarge = errors.New("request body too large")

// readGrowing reads rd to its end: size bytes when size is not negative (a
// Content-Length, at most limit), else at most limit. Its buffer starts at
// most firstBodyBuffer; each time it is full it doubles, up to size (or
// limit): a buffer is never more than twice the bytes that have arrived,
// whatever the Content-Length says. With a hold, each
// buffer's size is reserved before it is made, as much of the doubling as
// the hold's bounds allow (the smaller buffer it replaces is given up once
// copied, so a body of the bounds' size still fits), and a buffer that
// cannot grow by a byte is errOverBudget. The buffers it grows out of go
// to bufs (which may be nil), and it takes them from there.
func readGrowing(rd io.Reader, size, limit int64, h *hold, bufs *bodyBuffers) ([]byte, error) {
	return readGrowingFrom(rd, nil, size, limit, h, bufs)
}

// readGrowingFrom is readGrowing into buf (empty, of a kept capacity of at
// most limit) first.
func readGrowingFrom(rd io.Reader, buf []byte, size, limit int64, h *hold, bufs *bodyBuffers) ([]byte, error) {
	buf, err := fillGrowing(rd, buf, size, limit, h, bufs)
	if err != nil {
		bufs.put(buf)
		return nil, err
	}
	return buf, nil
}

// fillGrowing is readGrowing, but returns its last buffer on failure too.
func fillGrowing(rd io.Reader, buf []byte, size, limit int64, h *hold, bufs *bodyBuffers) ([]byte, error) {
	if size > limit {
		return nil, errTooLarge
	}
	end := limit
	if size >= 0 {
		end = size
	}
	more := errTooLarge // what more bytes after a full buffer mean
	if size >= 0 {
		more = errors.New("body longer than its Content-Length")
	}
fill:
	for int64(len(buf)) < end {
		if len(buf) == cap(buf) {
			// Double, whether the size is known or not: a Content-Length
			// is only a claim, so a caller holds at most about twice
			// what it has sent (and firstBodyBuffer).
			next := min(max(2*int64(cap(buf)), firstBodyBuffer), end)
			if h == nil {
				next = keptSize(next, int64(cap(buf)))
			}
			if h != nil {
				var ok bool
				if next, ok = h.grow(next, int64(len(buf))+1); !ok {
					if size >= 0 {
						return buf, errOverBudget // more bytes are due
					}
					// The body must end here to fit.
					more = errOverBudget
					break fill
				}
			}
			buf = bufs.grow(buf, int(next))
		}
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			if size >= 0 && int64(len(buf)) < size {
				return buf, io.ErrUnexpectedEOF
			}
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	// The buffer is full: the body must end here. (net/http stops a body
	// at its Content-Length; a hand-made request might not.)
	var one [1]byte
	for range 100 {
		n, err := rd.Read(one[:])
		switch {
		case n > 0:
			return buf, more
		case err == io.EOF:
			return buf, nil
		case err != nil:
			return buf, err
		}
	}
	return buf, io.ErrNoProgress
}

// bodyBufferSizes is how many sizes of the buffers bodies grow out of are
// kept for the next bodies: firstBodyBuffer and its doublings up to 8 MiB
// (an ingest batch's limit).
const bodyBufferSizes = 8

// keptSize is the size of a body's next buffer, next bytes at least, once
// its caller is authenticated and the body has outgrown its first buffer
// (of capacity prev): a kept size when that is at most twice prev, so that
// the body's last buffer, too, can go back to the pools after its request
// (serveIngest does) and a body still holds at most twice what has
// arrived; else next. A body that fits its first buffer keeps a buffer of
// its own length.
func keptSize(next, prev int64) int64 {
	if prev < firstBodyBuffer {
		return next
	}
	for i := range bodyBufferSizes {
		if c := int64(firstBodyBuffer) << i; c >= next {
			if c <= 2*prev {
				return c
			}
			break
		}
	}
	return next
}

// bodyBuffers keeps the buffers that bodies grew out of, by size, for the
// next bodies to grow through: a body of 500 KB is read through buffers of
// 64, 128 and 256 KiB before its own, and making and clearing those anew
// for every request cost ingest 1-2% of the server's CPU. A buffer comes
// here only once nothing uses it: a body's last buffer goes to its request
// and never comes back. The pools hold at most what bodies held at once
// (which preAuth and inflight bound), and the garbage collector empties
// them of what is not used again.
type bodyBuffers struct{ pools [bodyBufferSizes]sync.Pool }

// bodyBufferSize is the index of the pool of buffers of capacity n, or -1.
func bodyBufferSize(n int) int {
	for i := range bodyBufferSizes {
		if n == firstBodyBuffer<<i {
			return i
		}
	}
	return -1
}

// grow returns a buffer of capacity n holding buf's bytes, and keeps buf.
func (b *bodyBuffers) grow(buf []byte, n int) []byte {
	var nb []byte
	if i := bodyBufferSize(n); b != nil && i >= 0 {
		if p, ok := b.pools[i].Get().(*[]byte); ok {
			nb = (*p)[:len(buf)]
		}
	}
	if nb == nil {
		nb = make([]byte, len(buf), n)
	}
	copy(nb, buf)
	b.put(buf)
	return nb
}

// put keeps buf, which nothing uses any more, when it is of a kept size.
func (b *bodyBuffers) put(buf []byte) {
	if i := bodyBufferSize(cap(buf)); b != nil && i >= 0 {
		buf = buf[:0]
		b.pools[i].Put(&buf)
	}
}

// isTimeout says whether err is a read deadline passing.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// tooLarge is the answer to a body beyond its limit.
func tooLarge(limit int64) *awsproto.Error {
	return &awsproto.Error{Code: awsproto.RequestEntityTooLargeException,
		Message: "The request body is larger than " + byteSize(limit) + ".", Status: http.StatusRequestEntityTooLarge}
}
