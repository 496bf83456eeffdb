package console

// A form sent after its session ended is not applied and not thrown away
// in silence: what was typed is kept, bound to the session that ended, the
// browser goes to the sign-in page, and once the same access key pair signs
// in again it comes back to the form's page with the values filled in for
// the user to check and send again. Where that cannot be done safely (no
// session to bind the values to, a key whose secret changed, a form too
// large, no page to return to) the sign-in page says the input was lost.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/cairn-audit/cairn/internal/store"
)

// Bounds of what is kept of a form sent after its session ended.
const (
	// sessionGrace is how long an ended session's document (and its
	// cookie) stay to recognise a form sent after the end: long enough for
	// a person to come back to a form left open over lunch.
	sessionGrace = time.Hour
	// keptFor is how long a kept form waits for its user to sign in and
	// come back to it.
	keptFor = 15 * time.Minute
	// maxKeptBytes bounds the values of one kept form (URL-encoded).
	maxKeptBytes = 64 << 10
	// maxKeptForms bounds the forms one session keeps (one per open tab
	// at most, the oldest forgotten first), and together they take at
	// most twice maxKeptBytes.
	maxKeptForms = 4
)

// keptForm is a form sent after its session ended.
type keptForm struct {
	Page   string     // the console page the form was on (path and query), to return to
	Action string     // the form's action (a path)
	Fields [][]string // name and value pairs as sent, in order, without the CSRF token
	Until  time.Time  // forgotten after this
}

// size is the bytes the kept values take.
func (k keptForm) size() int {
	n := len(k.Page) + len(k.Action)
	for _, f := range k.Fields {
		for _, s := range f {
			n += len(s) + 1
		}
	}
	return n
}

// keptSize is the bytes of all of kept.
func keptSize(kept []keptForm) int {
	n := 0
	for _, k := range kept {
		n += k.size()
	}
	return n
}

// errNotKept says a form could not be kept; the user is told it was lost.
var errNotKept = errors.New("console: the form could not be kept")

// removeAt is when a session's document goes from the store: at the end of
// the grace after it expired, or when the last form it keeps is forgotten
// if that is later.
func (d sessionDoc) removeAt() time.Time {
	end := d.Expires.Add(sessionGrace)
	for _, k := range d.Kept {
		if k.Until.After(end) {
			end = k.Until
		}
	}
	return end
}

// keep stores form f in the ended session whose cookie value is id, if the
// session ended by time (not by sign-out or a changed key), is within its
// grace, and csrf is its token: a form from another site, or one that
// never belonged to the session, is not kept. It returns errNotKept when
// the form cannot be kept.
func (st *sessionStore) keep(ctx context.Context, id, csrf string, f keptForm, now time.Time) error {
	if f.size() > maxKeptBytes {
		return fmt.Errorf("%w: %d bytes", errNotKept, f.size())
	}
	d, err := st.docs.GetState(ctx, sessionKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: no session", errNotKept)
	}
	if err != nil {
		return err
	}
	var sd sessionDoc
	if err := json.Unmarshal(d.Doc, &sd); err != nil {
		return fmt.Errorf("console: session document: %w", err)
	}
	if now.Before(sd.Expires) || !now.Before(sd.Expires.Add(sessionGrace)) || !st.keyUnchanged(id, sd) {
		return fmt.Errorf("%w: session not within its grace", errNotKept)
	}
	if !tokensEqual(csrf, sd.CSRF) {
		return fmt.Errorf("%w: %w", errNotKept, errBadToken)
	}
	f.Until = now.Add(keptFor)
	sd.Kept = append(liveKept(sd.Kept, now), f)
	for len(sd.Kept) > maxKeptForms || keptSize(sd.Kept) > maxKeptBytes*2 {
		sd.Kept = sd.Kept[1:] // the oldest goes first; f alone fits
	}
	doc, err := json.Marshal(sd)
	if err != nil {
		return err
	}
	_, err = st.docs.PutState(ctx, d.Key, doc, d.Version)
	return err
}

// errBadToken is a kept form's CSRF token that is not its session's.
var errBadToken = errors.New("the form's token is not the session's")

// keyUnchanged reports whether the key the session signed in with is still
// configured with the same secret.
func (st *sessionStore) keyUnchanged(id string, sd sessionDoc) bool {
	secret, ok := st.dir.SecretFor(sd.KeyID)
	return ok && tokensEqual(keyMAC(id, secret), sd.KeyMAC)
}

// takeKept ends the old session whose cookie value is id and returns the
// forms it keeps, if keyID and secret (just checked at sign-in) are the
// key pair that session signed in with: a form is only ever given back to
// whoever typed it. Another key's forms are dropped.
func (st *sessionStore) takeKept(ctx context.Context, id, keyID, secret string, now time.Time) []keptForm {
	d, err := st.docs.GetState(ctx, sessionKey(id))
	if err != nil {
		return nil
	}
	if err := st.docs.DeleteState(ctx, d.Key); err != nil {
		st.log.Warn("console: removing the session signed in again", "err", err)
	}
	var sd sessionDoc
	if json.Unmarshal(d.Doc, &sd) != nil || sd.KeyID != keyID || !tokensEqual(keyMAC(id, secret), sd.KeyMAC) {
		return nil
	}
	return liveKept(sd.Kept, now)
}

// liveKept is the forms of kept not yet forgotten at now.
func liveKept(kept []keptForm, now time.Time) []keptForm {
	var live []keptForm
	for _, k := range kept {
		if now.Before(k.Until) {
			live = append(live, k)
		}
	}
	return live
}

// takeKeptFor removes from the session and returns the kept form of the
// page at uri (path and query; failing that, the same path), if any.
func (s *session) takeKeptFor(uri string, now time.Time) *keptForm {
	path := uri
	if u, err := url.Parse(uri); err == nil {
		path = u.Path
	}
	var found *keptForm
	s.update(func(d *sessionDoc) bool {
		found = nil
		live := liveKept(d.Kept, now)
		pick := -1
		for i, k := range live {
			if k.Page == uri {
				pick = i
			}
		}
		for i := len(live) - 1; pick < 0 && i >= 0; i-- {
			if u, err := url.Parse(live[i].Page); err == nil && u.Path == path {
				pick = i
			}
		}
		if pick >= 0 {
			k := live[pick]
			found = &k
			live = append(live[:pick], live[pick+1:]...)
		}
		changed := len(live) != len(d.Kept)
		d.Kept = live
		return changed
	})
	return found
}

// keptView is a kept form as the page it returns to shows it.
type keptView struct {
	Action string
	Fields [][]string
	// JSON is Fields for the script that fills the form in.
	JSON string
}

func viewOf(k *keptForm) *keptView {
	if k == nil {
		return nil
	}
	b, err := json.Marshal(k.Fields)
	if err != nil {
		return nil
	}
	return &keptView{Action: k.Action, Fields: k.Fields, JSON: string(b)}
}

// formFields is a parsed form's name and value pairs in a stable order
// (by name, each name's values in the order sent), without the CSRF token.
func formFields(form url.Values) [][]string {
	var out [][]string
	for _, name := range slices.Sorted(maps.Keys(form)) {
		if name == "csrf" {
			continue
		}
		for _, v := range form[name] {
			out = append(out, []string{name, v})
		}
	}
	return out
}

// formPage is the console page a form was sent from: the Referer's path
// and query when it is a console page the user may return to, else "".
func formPage(r *http.Request) string {
	ref, err := url.Parse(r.Referer())
	if err != nil || r.Referer() == "" || ref.Host != r.Host {
		return ""
	}
	page := ref.RequestURI()
	if safeNext(page) != page {
		return ""
	}
	return page
}

// sentAfterEnd answers a form sent without a live session: it is not
// applied. The browser goes to the sign-in page, which says whether what
// was typed is kept (and returned to after signing in) or lost. A sign-out
// whose session already ended has nothing to do but say so.
func (c *Console) sentAfterEnd(w http.ResponseWriter, r *http.Request, cookie string, expired bool) {
	if r.URL.Path == "/console/logout" {
		setCookie(w, r, sessionCookie, "", -1)
		http.Redirect(w, r, "/console/login?out=1", http.StatusSeeOther)
		return
	}
	page := formPage(r)
	q := url.Values{"next": {safeNext(page)}, "lost": {"1"}}
	if expired && page != "" && sameOrigin(r) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err == nil {
			f := keptForm{Page: page, Action: r.URL.Path, Fields: formFields(r.PostForm)}
			switch err := c.sessions.keep(r.Context(), cookie, r.PostForm.Get("csrf"), f, c.now()); {
			case err == nil:
				q = url.Values{"next": {page}, "kept": {"1"}}
			case errors.Is(err, errBadToken):
				// Not the session's form: not kept, and said to be lost.
			case !errors.Is(err, errNotKept):
				c.opts.Log.Warn("console: a form sent after its session ended was not kept", "err", err)
			}
		}
	}
	if q.Has("lost") && cookie != "" && !expired {
		// The session is gone (or its key changed): its cookie is of no
		// further use.
		setCookie(w, r, sessionCookie, "", -1)
	}
	http.Redirect(w, r, "/console/login?"+q.Encode(), http.StatusSeeOther)
}
