package console

// Every console form is answered with a redirect (303), never with a page:
// a page that answers a POST is one that a reload sends again (the browser
// offers to resend the form). A change that is applied redirects with a
// success message (session.setFlash). A form that is refused (a value
// CloudTrail or the console rejects, a wrong delete confirmation) and the
// create flow's steps (review, back to edit) keep what was sent and the
// errors in the session, and redirect to the form's page, which shows them:
// refused input once (a reload then shows the page as it is, like a
// message), a create step until the next step replaces it.

import (
	"net/http"
	"net/url"
	"slices"
	"time"
	"unicode/utf8"
)

// Bounds of the answers a session holds.
const (
	// maxAnswers bounds the answered forms of one session (one per open
	// tab at most; the oldest is forgotten first).
	maxAnswers = 4
	// maxAnswerBytes bounds one answered form: the largest form the
	// console reads, and its errors.
	maxAnswerBytes = maxFormBytes + maxAnswerErrBytes
	// maxAnswerErrBytes bounds the errors of one answered form.
	maxAnswerErrBytes = 16 << 10
	// maxAnswersBytes bounds all the answers of a session.
	maxAnswersBytes = 2 * maxAnswerBytes
	// answerFor is how long an answer waits for its page to show it: the
	// redirect follows at once, so this only bounds what a browser that
	// never came back leaves in its session.
	answerFor = 15 * time.Minute
)

// answeredForm is a form that was not applied, kept for the page the
// browser is redirected to.
type answeredForm struct {
	Page   string     // the page that shows it: path and canonical query (pageKey)
	Action string     // the form's action, a path
	Fields [][]string // name and value pairs as sent, without the CSRF token (formFields)
	// Errs are the form's errors by field; "" is about the form as a whole.
	Errs fieldErrs `json:",omitempty"`
	// Keep leaves the answer for reloads (a create step) until the next
	// answer of its page replaces it; without it, a page shows it once.
	Keep  bool      `json:",omitempty"`
	Until time.Time // forgotten after this
}

// size is the bytes the answer takes.
func (a answeredForm) size() int {
	n := len(a.Page) + len(a.Action)
	for _, f := range a.Fields {
		for _, s := range f {
			n += len(s) + 1
		}
	}
	for k, v := range a.Errs {
		n += len(k) + len(v)
	}
	return n
}

// values are the fields as sent.
func (a answeredForm) values() url.Values {
	v := url.Values{}
	for _, f := range a.Fields {
		if len(f) == 2 {
			v.Add(f[0], f[1])
		}
	}
	return v
}

// pageKey is page (a path and query) with its query in canonical order,
// so that the page a redirect names and the request that follows it match
// however the browser writes the query.
func pageKey(page string) string {
	u, err := url.Parse(page)
	if err != nil {
		return page
	}
	if q := u.Query().Encode(); q != "" {
		return u.Path + "?" + q
	}
	return u.Path
}

// boundErrs trims each error of errs so that together they fit
// maxAnswerErrBytes; an error is a sentence, and one longer than that
// (one quoting a large input) loses its end, not its start.
func boundErrs(errs fieldErrs) fieldErrs {
	if len(errs) == 0 {
		return nil
	}
	each := maxAnswerErrBytes / len(errs)
	out := fieldErrs{}
	for k, v := range errs {
		if len(k)+len(v) > each {
			v = cutUTF8(v, max(each-len(k)-len("…"), 0)) + "…"
		}
		out[k] = v
	}
	return out
}

// cutUTF8 is the longest start of s of at most n bytes that ends at a
// character's end.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// answer keeps a for its page and returns where to redirect to: the page,
// scrolled to anchor ("#" and an id, or "").
func (s *session) answer(a answeredForm, anchor string, now time.Time) string {
	to := a.Page
	a.Page = pageKey(a.Page)
	a.Errs = boundErrs(a.Errs)
	a.Until = now.Add(answerFor)
	if a.size() > maxAnswerBytes {
		// Only errors can make it so (a form is at most maxFormBytes):
		// they are bounded, so this is a form past the console's limit.
		a.Fields = nil
	}
	s.update(func(d *sessionDoc) bool {
		kept := slices.DeleteFunc(liveAnswers(d.Answers, now), func(o answeredForm) bool { return o.Page == a.Page })
		kept = append(kept, a)
		for len(kept) > maxAnswers || answersSize(kept) > maxAnswersBytes {
			kept = kept[1:] // the oldest goes first; a alone fits
		}
		d.Answers = kept
		return true
	})
	return to + anchor
}

// takeAnswer returns the answer kept for the page of r (a GET), if any:
// one to show once is removed.
func (s *session) takeAnswer(r *http.Request, now time.Time) *answeredForm {
	if r.Method != http.MethodGet {
		return nil
	}
	page := pageKey(r.URL.RequestURI())
	var found *answeredForm
	s.update(func(d *sessionDoc) bool {
		found = nil
		live := liveAnswers(d.Answers, now)
		changed := len(live) != len(d.Answers)
		for i := len(live) - 1; i >= 0; i-- {
			if live[i].Page != page {
				continue
			}
			a := live[i]
			found = &a
			if !a.Keep {
				live = slices.Delete(live, i, i+1)
				changed = true
			}
			break
		}
		d.Answers = live
		return changed
	})
	return found
}

// dropAnswers forgets the answers of the pages whose path is path (a flow
// that is over).
func (s *session) dropAnswers(path string) {
	s.update(func(d *sessionDoc) bool {
		n := len(d.Answers)
		d.Answers = slices.DeleteFunc(d.Answers, func(a answeredForm) bool {
			u, err := url.Parse(a.Page)
			return err != nil || u.Path == path
		})
		return len(d.Answers) != n
	})
}

// liveAnswers is the answers not yet forgotten at now.
func liveAnswers(all []answeredForm, now time.Time) []answeredForm {
	var live []answeredForm
	for _, a := range all {
		if now.Before(a.Until) {
			live = append(live, a)
		}
	}
	return live
}

// answersSize is the bytes of all of answers.
func answersSize(answers []answeredForm) int {
	n := 0
	for _, a := range answers {
		n += a.size()
	}
	return n
}
