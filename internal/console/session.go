package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/cairn-audit/cairn/internal/auth"
	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
)

// Cookie names. The session cookie holds a random 32-byte id; the login
// cookie holds the token that protects the sign-in form (double submit).
const (
	sessionCookie = "cairn_session"
	loginCookie   = "cairn_login"
	cookiePath    = "/console/"
)

// maxFormBytes bounds a console form.
const maxFormBytes = 256 << 10

// maxSignInFormBytes bounds the sign-in form, which anyone may send: it
// holds a key id, a secret, a token and a path to return to, so a few KiB
// are plenty, and a stranger's forms hold little of what the server reads
// before authentication.
const maxSignInFormBytes = 8 << 10

// SessionDocs keeps the console's sessions where every node reads them:
// the event store's state documents (store.StateDocs), so that a browser stays
// signed in whichever node a load balancer sends it to, and across
// restarts.
type SessionDocs interface {
	GetState(ctx context.Context, key string) (store.StateDoc, error)
	PutState(ctx context.Context, key string, doc []byte, expectVersion int64) (int64, error)
	DeleteState(ctx context.Context, key string) error
	ListState(ctx context.Context, prefix string) ([]store.StateDoc, error)
}

// sessionPrefix starts the keys of session documents. A document is named
// by the SHA-256 of the session's id, so the store never holds the cookie's
// value itself.
const sessionPrefix = "console/session/"

// sessionDoc is a session as stored.
type sessionDoc struct {
	KeyID string // the access key signed in with; its user is looked up on each request
	// KeyMAC is the HMAC-SHA256, keyed by the session's id, of the key's
	// secret at sign-in: a secret changed since (rotated after a leak) ends
	// the session, and the document alone tells nothing of the secret.
	KeyMAC   string
	CSRF     string
	Expires  time.Time
	Region   string `json:",omitempty"`
	Flash    string `json:",omitempty"`
	FlashErr bool   `json:",omitempty"`
	// Kept are forms sent after the session ended (kept.go), or brought
	// into a new session of the same key pair to be filled in again.
	Kept []keptForm `json:",omitempty"`
	// Answers are forms answered with a redirect to their page, which
	// shows what was sent and its errors (answered.go).
	Answers []answeredForm `json:",omitempty"`
}

// session is one signed-in browser, as read for one request.
type session struct {
	id        string
	principal *auth.Principal
	csrf      string
	expires   time.Time

	st      *sessionStore
	mu      sync.Mutex
	doc     sessionDoc
	version int64
}

func (s *session) setRegion(r string) {
	s.update(func(d *sessionDoc) bool {
		changed := d.Region != r
		d.Region = r
		return changed
	})
}

func (s *session) getRegion() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.doc.Region
}

// setFlash leaves a message for the next page the session sees.
func (s *session) setFlash(msg string, isErr bool) {
	s.update(func(d *sessionDoc) bool {
		d.Flash, d.FlashErr = msg, isErr
		return true
	})
}

func (s *session) takeFlash() (msg string, isErr bool) {
	s.update(func(d *sessionDoc) bool {
		msg, isErr = d.Flash, d.FlashErr
		d.Flash, d.FlashErr = "", false
		return msg != ""
	})
	return msg, isErr
}

// update applies change to the stored session and writes it back if
// change says it changed anything. Another request of the same browser
// may have written meanwhile (on another node): then it reads the session
// again and applies change to that, once more at most. A session that has
// gone (signed out meanwhile) is left gone.
func (s *session) update(change func(*sessionDoc) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for attempt := 0; attempt < 2; attempt++ {
		if !change(&s.doc) {
			return
		}
		doc, err := json.Marshal(s.doc)
		if err != nil {
			return
		}
		v, err := s.st.docs.PutState(ctx, sessionKey(s.id), doc, s.version)
		if err == nil {
			s.version = v
			return
		}
		if !errors.Is(err, store.ErrConflict) {
			s.st.log.Warn("console: session not saved", "err", err)
			return
		}
		d, err := s.st.docs.GetState(ctx, sessionKey(s.id))
		var fresh sessionDoc
		if err != nil || json.Unmarshal(d.Doc, &fresh) != nil {
			return
		}
		s.doc, s.version = fresh, d.Version
	}
}

// sessionStore keeps sessions in SessionDocs.
type sessionStore struct {
	docs SessionDocs
	dir  *auth.Directory
	log  *slog.Logger
}

func keyMAC(id, secret string) string {
	m := hmac.New(sha256.New, []byte(id))
	m.Write([]byte(secret))
	return hex.EncodeToString(m.Sum(nil))
}

func sessionKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return sessionPrefix + hex.EncodeToString(sum[:])
}

// create starts a session for the user of access key keyID that ends at
// expires, with the forms kept for it, and removes the sessions that have
// ended.
func (st *sessionStore) create(ctx context.Context, keyID, secret string, p *auth.Principal, expires, now time.Time, kept []keptForm) (*session, error) {
	id := randomToken()
	s := &session{id: id, principal: p, expires: expires, st: st,
		doc: sessionDoc{KeyID: keyID, KeyMAC: keyMAC(id, secret), CSRF: randomToken(), Expires: expires, Kept: kept}}
	s.csrf = s.doc.CSRF
	doc, err := json.Marshal(s.doc)
	if err != nil {
		return nil, err
	}
	if s.version, err = st.docs.PutState(ctx, sessionKey(s.id), doc, 0); err != nil {
		return nil, err
	}
	st.sweep(ctx, now)
	return s, nil
}

// sweep removes sessions that have ended and whose grace is over.
func (st *sessionStore) sweep(ctx context.Context, now time.Time) {
	docs, err := st.docs.ListState(ctx, sessionPrefix)
	if err != nil {
		st.log.Warn("console: listing sessions", "err", err)
		return
	}
	for _, d := range docs {
		var sd sessionDoc
		if json.Unmarshal(d.Doc, &sd) != nil || !now.Before(sd.removeAt()) {
			if err := st.docs.DeleteState(ctx, d.Key); err != nil {
				st.log.Warn("console: removing an ended session", "err", err)
			}
		}
	}
}

// get returns the live session with id; expired is true when it existed
// but has ended. A session whose access key is no longer configured, or
// has another secret now, has ended too, and is removed. One that ended by
// time stays until its grace is over (sweep), to keep a form sent after
// the end for whoever signs in with its key pair again (kept.go).
func (st *sessionStore) get(ctx context.Context, id string, now time.Time) (s *session, expired bool, err error) {
	d, err := st.docs.GetState(ctx, sessionKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var sd sessionDoc
	if err := json.Unmarshal(d.Doc, &sd); err != nil {
		return nil, false, fmt.Errorf("console: session document: %w", err)
	}
	p, ok := st.dir.Principal(sd.KeyID)
	if ok {
		secret, _ := st.dir.SecretFor(sd.KeyID)
		ok = hmac.Equal([]byte(keyMAC(id, secret)), []byte(sd.KeyMAC))
	}
	if !ok || !now.Before(sd.removeAt()) {
		return nil, true, st.docs.DeleteState(ctx, d.Key)
	}
	if !now.Before(sd.Expires) {
		return nil, true, nil
	}
	return &session{id: id, principal: p, csrf: sd.CSRF, expires: sd.Expires, st: st, doc: sd, version: d.Version}, false, nil
}

func (st *sessionStore) delete(ctx context.Context, id string) error {
	return st.docs.DeleteState(ctx, sessionKey(id))
}

// count is the number of sessions stored.
func (st *sessionStore) count(ctx context.Context) (int, error) {
	docs, err := st.docs.ListState(ctx, sessionPrefix)
	return len(docs), err
}

// randomToken is 32 random bytes, base64url.
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("console: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func tokensEqual(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: cookiePath, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
}

// handlerFunc is a page of a signed-in user.
type handlerFunc func(w http.ResponseWriter, r *http.Request, s *session)

// signedIn runs h for a signed-in user. Without a session, a GET goes to the
// sign-in page (and comes back after it); a form is not applied, and goes
// to the sign-in page too, kept or said to be lost (sentAfterEnd). Every
// POST must carry the session's CSRF token and come from the console's
// own origin.
func (c *Console) signedIn(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var s *session
		expired := false
		cookie := ""
		if ck, err := r.Cookie(sessionCookie); err == nil {
			var err error
			cookie = ck.Value
			if s, expired, err = c.sessions.get(r.Context(), ck.Value, c.now()); err != nil {
				c.unavailable(w, r, err)
				return
			}
		}
		if s == nil {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				c.sentAfterEnd(w, r, cookie, expired)
				return
			}
			// Live mode's EventSource is no page to send to sign in:
			// it is told no, and the page says Live mode stopped.
			if r.Header.Get("Accept") == "text/event-stream" {
				http.Error(w, "Not signed in: sign in again.", http.StatusUnauthorized)
				return
			}
			// The cookie of a session that ended by time stays for its
			// grace, so that a form sent from another tab is kept.
			q := url.Values{"next": {signInNext(r)}}
			if expired {
				q.Set("expired", "1")
			}
			http.Redirect(w, r, "/console/login?"+q.Encode(), http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				c.formRefused(w, r, s, unreadableForm(err))
				return
			}
			if !sameOrigin(r) {
				c.formRefused(w, r, s, "A form sent from another site was refused, so nothing was changed.")
				return
			}
			if !tokensEqual(r.PostForm.Get("csrf"), s.csrf) {
				c.formRefused(w, r, s, staleTokenMsg)
				return
			}
		}
		h(w, r, s)
	}
}

// sameOrigin rejects a request whose Origin header (sent by browsers on
// POST) names another site.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

type loginPage struct {
	base
	Next   string
	KeyID  string
	Notice string
	// Reason is why the browser was sent to sign in (reasonKept,
	// reasonLost, reasonExpired or ""); the form carries it, so that a
	// failed attempt still shows Warn.
	Reason string
	// Warn is the warning of Reason.
	Warn string
	// Wait is how long the next attempt waits, shown after Error.
	Wait *waitView
}

// waitView is a sign-in wait as the page shows it: Text ("30 seconds")
// until At (hh:mm:ss UTC); Secs lets the script count it down.
type waitView struct {
	Text string
	Secs int
	At   string
}

// Why the browser was sent to the sign-in page.
const (
	reasonKept    = "kept"    // a form sent after the session ended is kept
	reasonLost    = "lost"    // a form sent without a session was lost
	reasonExpired = "expired" // a page asked for after the session ended
)

// withReason sets p's Reason and its warning; an unknown reason is none.
func (p loginPage) withReason(reason string) loginPage {
	p.Reason, p.Warn = reason, ""
	switch reason {
	case reasonKept:
		p.Warn = "Your session expired before your form was sent, so nothing was changed. " +
			"Sign in again to return to the form with what you typed filled in; check it and send it again."
	case reasonLost:
		p.Warn = "You were not signed in (your session had ended), so the form you sent was not applied " +
			"and what you typed in it was lost. Sign in and enter it again."
	case reasonExpired:
		p.Warn = "Your session has expired. Sign in again to return to the page you were on."
	default:
		p.Reason = ""
	}
	return p
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if ck, err := r.Cookie(sessionCookie); err == nil {
		if s, _, _ := c.sessions.get(r.Context(), ck.Value, c.now()); s != nil {
			http.Redirect(w, r, returnTo(next), http.StatusSeeOther)
			return
		}
	}
	p := loginPage{base: base{Title: "Sign in"}, Next: next}
	switch q := r.URL.Query(); {
	case q.Get("kept") != "":
		p = p.withReason(reasonKept)
	case q.Get("lost") != "":
		p = p.withReason(reasonLost)
	case q.Get("expired") != "":
		p = p.withReason(reasonExpired)
	case q.Get("out") != "":
		p.Notice = "You have signed out."
	}
	c.renderLogin(w, r, http.StatusOK, p)
}

// renderLogin shows the sign-in form with a fresh double-submit token.
func (c *Console) renderLogin(w http.ResponseWriter, r *http.Request, status int, p loginPage) {
	tok := randomToken()
	setCookie(w, r, loginCookie, tok, 3600)
	p.CSRF = tok
	c.render(w, status, "login.html", p)
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(loginCookie)
	if err != nil || !sameOrigin(r) {
		// Refused before its body is read: a form without the sign-in
		// page's cookie cannot be good. (An HTTP/1 connection then
		// closes, its body unread.)
		if r.ProtoMajor < 2 {
			w.Header().Set("Connection", "close")
		}
		c.renderLogin(w, r, http.StatusForbidden, loginPage{base: base{Title: "Sign in", Error: "The sign-in form was out of date. Try again."}, Next: safeNext("")})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxSignInFormBytes)
	if err := r.ParseForm(); err != nil {
		c.renderLogin(w, r, http.StatusBadRequest, loginPage{base: base{Title: "Sign in", Error: "The sign-in form could not be read (it is larger than 8 KiB). Try again."},
			Next: safeNext("")})
		return
	}
	p := loginPage{base: base{Title: "Sign in"}, Next: safeNext(r.PostForm.Get("next")), KeyID: r.PostForm.Get("access_key_id")}
	p = p.withReason(r.PostForm.Get("reason"))
	if !tokensEqual(r.PostForm.Get("csrf"), ck.Value) {
		p.Error = "The sign-in form was out of date. Try again."
		c.renderLogin(w, r, http.StatusForbidden, p)
		return
	}
	ip := clientIP(r)
	now := c.now()
	var principal *auth.Principal
	o := c.logins.attempt(p.KeyID, addressOf(ip), now, func() bool {
		var ok bool
		principal, ok = c.opts.Directory.Check(p.KeyID, r.PostForm.Get("secret_access_key"))
		return ok
	})
	keyUser, logKey := c.keyOwner(p.KeyID)
	switch {
	case o.refused != nil:
		c.opts.Log.Debug("console: sign-in refused while waiting", "ip", ip, "access_key_id", logKey, "until", o.refused.until)
		c.refuseLogin(w, r, p, *o.refused, now)
		return
	case o.slowed != nil:
		c.opts.Log.Warn("console: failed sign-ins: the next attempts wait", "ip", ip, "access_key_id", logKey,
			"per_address", o.slowed.perAddress, "until", o.slowed.until.UTC())
	}
	if !o.ok {
		// An unknown key names no account to record the attempt in; the
		// log has it.
		if keyUser != nil {
			c.recordSignIn(r.Context(), c.signInOf(r, keyUser, false, p.Next))
		}
		c.opts.Log.Warn("console: failed sign-in", "ip", ip, "access_key_id", logKey)
		p.Error = "The access key ID or the secret access key is not valid."
		if o.slowed != nil {
			// This failure starts a wait: say so now, not at the next try.
			var secs int
			p, secs = withWait(p, *o.slowed, now)
			p.Error = "The access key ID or the secret access key is not valid. " + p.Error
			w.Header().Set("Retry-After", strconv.Itoa(secs))
		}
		c.renderLogin(w, r, http.StatusUnauthorized, p)
		return
	}
	// The session this browser had before (ended, or another user's) is
	// over; its kept forms go to the new one if it is the same key pair's.
	var kept []keptForm
	if old, err := r.Cookie(sessionCookie); err == nil {
		kept = c.sessions.takeKept(r.Context(), old.Value, p.KeyID, r.PostForm.Get("secret_access_key"), now)
	}
	s, err := c.sessions.create(r.Context(), p.KeyID, r.PostForm.Get("secret_access_key"), principal, now.Add(c.opts.SessionTTL), now, kept)
	if err != nil {
		c.unavailable(w, r, err)
		return
	}
	c.recordSignIn(r.Context(), c.signInOf(r, principal, true, p.Next))
	setCookie(w, r, sessionCookie, s.id, int((c.opts.SessionTTL+sessionGrace)/time.Second))
	setCookie(w, r, loginCookie, "", -1)
	c.opts.Log.Info("console: signed in", "user", principal.ARN, "ip", ip)
	http.Redirect(w, r, returnTo(p.Next), http.StatusSeeOther)
}

// keyOwner is the user of access key keyID (nil for an unknown key) and
// how the log names the key: by its id only when it is one, so that a
// secret typed into the wrong field never reaches the log.
func (c *Console) keyOwner(keyID string) (*auth.Principal, string) {
	if p, ok := c.opts.Directory.Principal(keyID); ok {
		return p, keyID
	}
	return nil, "HIDDEN_DUE_TO_SECURITY_REASONS"
}

// refuseLogin answers an attempt that must wait: 429 with Retry-After, and
// a page that says until when.
func (c *Console) refuseLogin(w http.ResponseWriter, r *http.Request, p loginPage, why refusal, now time.Time) {
	p, secs := withWait(p, why, now)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	c.renderLogin(w, r, http.StatusTooManyRequests, p)
}

// withWait sets p's Error to why attempts wait and p's Wait to how long
// (the throttle's own until, so the page says the real wait), and returns
// the wait in whole seconds, rounded up (for Retry-After).
func withWait(p loginPage, why refusal, now time.Time) (loginPage, int) {
	secs := max(int((why.until.Sub(now)+time.Second-1)/time.Second), 1)
	who := "with this access key from your address"
	if why.perAddress {
		who = "from your address"
	}
	p.Error = "Too many failed sign-ins " + who + "."
	p.Wait = &waitView{Text: waitText(secs), Secs: secs, At: why.until.UTC().Format("15:04:05")}
	return p, secs
}

// waitText is a wait of secs seconds in words, to the second: "45
// seconds", "1 minute", "2 minutes 30 seconds".
func waitText(secs int) string {
	secs = max(secs, 1)
	m, s := secs/60, secs%60
	switch {
	case m == 0:
		return unitCount(s, "second")
	case s == 0:
		return unitCount(m, "minute")
	}
	return unitCount(m, "minute") + " " + unitCount(s, "second")
}

// unitCount is n and unit, plural unless n is 1 (plural is chart.go's).
func unitCount(n int, unit string) string {
	return strconv.Itoa(n) + " " + unit + plural(n)
}

// signInOf describes a checked sign-in of principal's key for its event.
func (c *Console) signInOf(r *http.Request, principal *auth.Principal, ok bool, next string) signIn {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return signIn{principal: principal, ok: ok, ip: clientIP(r), userAgent: r.UserAgent(),
		loginTo: scheme + "://" + r.Host + next, tls: event.NewTLSDetails(r.TLS, r.Host)}
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	if err := c.sessions.delete(r.Context(), s.id); err != nil {
		c.unavailable(w, r, err)
		return
	}
	setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/console/login?out=1", http.StatusSeeOther)
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
