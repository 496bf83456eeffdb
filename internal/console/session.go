package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/cairn-audit/cairn/internal/auth"
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

// session is one signed-in browser.
type session struct {
	id        string
	principal *auth.Principal
	csrf      string
	expires   time.Time

	mu       sync.Mutex
	region   string
	flash    string
	flashErr bool
}

func (s *session) setRegion(r string) {
	s.mu.Lock()
	s.region = r
	s.mu.Unlock()
}

func (s *session) getRegion() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.region
}

// setFlash leaves a message for the next page the session sees.
func (s *session) setFlash(msg string, isErr bool) {
	s.mu.Lock()
	s.flash, s.flashErr = msg, isErr
	s.mu.Unlock()
}

func (s *session) takeFlash() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, e := s.flash, s.flashErr
	s.flash, s.flashErr = "", false
	return m, e
}

// sessionStore keeps sessions in memory: they end with the process.
type sessionStore struct {
	mu   sync.Mutex
	byID map[string]*session
}

func newSessionStore() *sessionStore { return &sessionStore{byID: map[string]*session{}} }

// create starts a session for p that ends at expires.
func (st *sessionStore) create(p *auth.Principal, expires, now time.Time) *session {
	s := &session{id: randomToken(), principal: p, csrf: randomToken(), expires: expires}
	st.mu.Lock()
	defer st.mu.Unlock()
	for id, old := range st.byID { // sweep expired sessions on each sign-in
		if !now.Before(old.expires) {
			delete(st.byID, id)
		}
	}
	st.byID[s.id] = s
	return s
}

// get returns the live session with id; expired is true when it existed
// but has ended.
func (st *sessionStore) get(id string, now time.Time) (s *session, expired bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.byID[id]
	if !ok {
		return nil, false
	}
	if !now.Before(s.expires) {
		delete(st.byID, id)
		return nil, true
	}
	return s, false
}

func (st *sessionStore) delete(id string) {
	st.mu.Lock()
	delete(st.byID, id)
	st.mu.Unlock()
}

func (st *sessionStore) len() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.byID)
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
// sign-in page (and comes back after it); anything else is refused. Every
// POST must carry the session's CSRF token and come from the console's
// own origin.
func (c *Console) signedIn(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var s *session
		expired := false
		if ck, err := r.Cookie(sessionCookie); err == nil {
			s, expired = c.sessions.get(ck.Value, c.now())
		}
		if s == nil {
			if expired {
				setCookie(w, r, sessionCookie, "", -1)
			}
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				q := url.Values{"next": {r.URL.RequestURI()}}
				if expired {
					q.Set("expired", "1")
				}
				http.Redirect(w, r, "/console/login?"+q.Encode(), http.StatusSeeOther)
				return
			}
			c.forbidden(w, "You are not signed in (or your session has expired). Sign in and try again.")
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				c.forbidden(w, "The form could not be read.")
				return
			}
			if !sameOrigin(r) || !tokensEqual(r.PostForm.Get("csrf"), s.csrf) {
				c.forbidden(w, "The form's security token is missing or out of date. Go back, reload the page and try again.")
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
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if ck, err := r.Cookie(sessionCookie); err == nil {
		if s, _ := c.sessions.get(ck.Value, c.now()); s != nil {
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
	}
	p := loginPage{base: base{Title: "Sign in"}, Next: next}
	switch {
	case r.URL.Query().Get("expired") != "":
		p.Notice = "Your session has expired. Sign in again."
	case r.URL.Query().Get("out") != "":
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
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		c.forbidden(w, "The form could not be read.")
		return
	}
	p := loginPage{base: base{Title: "Sign in"}, Next: safeNext(r.PostForm.Get("next")), KeyID: r.PostForm.Get("access_key_id")}
	ck, err := r.Cookie(loginCookie)
	if err != nil || !sameOrigin(r) || !tokensEqual(r.PostForm.Get("csrf"), ck.Value) {
		p.Error = "The sign-in form was out of date. Try again."
		c.renderLogin(w, r, http.StatusForbidden, p)
		return
	}
	ip := clientIP(r)
	if wait := c.logins.blocked(ip, c.now()); wait > 0 {
		p.Error = "Too many failed sign-ins from your address. Wait " + wait.Round(time.Second).String() + " and try again."
		c.renderLogin(w, r, http.StatusTooManyRequests, p)
		return
	}
	principal, ok := c.opts.Directory.Check(r.PostForm.Get("access_key_id"), r.PostForm.Get("secret_access_key"))
	if !ok {
		c.sleep(r.Context(), c.logins.fail(ip, c.now()))
		// Log the key id only when it is one: a secret typed into the
		// wrong field must not reach the log.
		keyID := "HIDDEN_DUE_TO_SECURITY_REASONS"
		if _, known := c.opts.Directory.SecretFor(p.KeyID); known {
			keyID = p.KeyID
		}
		c.opts.Log.Warn("console: failed sign-in", "ip", ip, "access_key_id", keyID)
		p.Error = "The access key ID or the secret access key is not valid."
		c.renderLogin(w, r, http.StatusUnauthorized, p)
		return
	}
	c.logins.succeed(ip)
	now := c.now()
	s := c.sessions.create(principal, now.Add(c.opts.SessionTTL), now)
	setCookie(w, r, sessionCookie, s.id, int(c.opts.SessionTTL/time.Second))
	setCookie(w, r, loginCookie, "", -1)
	c.opts.Log.Info("console: signed in", "user", principal.ARN, "ip", ip)
	http.Redirect(w, r, p.Next, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	c.sessions.delete(s.id)
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

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// loginLimiter slows down guessing: each failed sign-in from an address
// waits longer (up to maxLoginDelay), and after maxLoginFailures within
// loginWindow the address is refused until the window has passed.
type loginLimiter struct {
	mu    sync.Mutex
	byIP  map[string]*loginFailures
	limit int
}

type loginFailures struct {
	count int
	last  time.Time
}

const (
	baseLoginDelay   = 250 * time.Millisecond
	maxLoginDelay    = 4 * time.Second
	maxLoginFailures = 20
	loginWindow      = 15 * time.Minute
	maxTrackedIPs    = 10000
)

func newLoginLimiter() *loginLimiter {
	return &loginLimiter{byIP: map[string]*loginFailures{}, limit: maxLoginFailures}
}

// blocked returns how long ip must still wait, or zero.
func (l *loginLimiter) blocked(ip string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.byIP[ip]
	if f == nil {
		return 0
	}
	if now.Sub(f.last) >= loginWindow {
		delete(l.byIP, ip)
		return 0
	}
	if f.count >= l.limit {
		return loginWindow - now.Sub(f.last)
	}
	return 0
}

// fail counts a failed sign-in and returns how long to delay the answer.
func (l *loginLimiter) fail(ip string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.byIP) >= maxTrackedIPs {
		for k, f := range l.byIP {
			if now.Sub(f.last) >= loginWindow {
				delete(l.byIP, k)
			}
		}
	}
	f := l.byIP[ip]
	if f == nil || now.Sub(f.last) >= loginWindow {
		f = &loginFailures{}
		l.byIP[ip] = f
	}
	f.count++
	f.last = now
	d := baseLoginDelay << min(f.count-1, 5)
	return min(d, maxLoginDelay)
}

func (l *loginLimiter) succeed(ip string) {
	l.mu.Lock()
	delete(l.byIP, ip)
	l.mu.Unlock()
}
