package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// A refused form's answer is shown once, to its own session, on its own
// page; the create flow's review stays for reloads; what a session holds
// is bounded.
func TestConsoleAnsweredForms(t *testing.T) {
	e := newEnv(t)
	sc, tok := e.login(adminKey, adminSecret)
	page := "/console/trail?region=us-east-1&arn=" + url.QueryEscape(trailARN)
	form := url.Values{"csrf": {tok}, "region": {"us-east-1"}, "arn": {trailARN}, "name": {"audit"}, "confirm": {"audti"}}
	w := e.post("/console/trail/delete", sc, form)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/trail?arn="+url.QueryEscape(trailARN)+"&region=us-east-1#delete" {
		t.Fatalf("refused delete: %d %v", w.Code, w.Header())
	}
	// Another session of the same user sees nothing of it.
	other, _ := e.login(adminKey, adminSecret)
	if body := e.get(page, other).Body.String(); strings.Contains(body, `id="delete-error"`) {
		t.Fatal("another session shows the refused form")
	}
	// The page, with its query in another order, shows it once.
	if body := e.get(page, sc).Body.String(); !errIn(body, "field-confirm", "delete-error", "That is not the trail's name. Type audit exactly") ||
		!strings.Contains(body, `value="audti"`) {
		t.Fatalf("the page after the refusal:\n%s", body)
	}
	if body := e.get(page, sc).Body.String(); strings.Contains(body, `id="delete-error"`) || strings.Contains(body, `value="audti"`) {
		t.Fatal("the refusal shows again on reloading")
	}

	// The review stays for reloads; the next step replaces it; creating
	// ends it.
	create := url.Values{"csrf": {tok}, "region": {"us-east-1"}, "events_form": {"1"}, "name": {"tr1"}, "bucket": {"bkt"},
		"mgmt_read": {"on"}, "mgmt_write": {"on"}, "step": {"review"}}
	w = e.post("/console/trails/new", sc, create)
	review, _, _ := strings.Cut(w.Header().Get("Location"), "#")
	for i := 0; i < 2; i++ {
		if body := e.get(review, sc).Body.String(); !strings.Contains(body, `id="confirm-create"`) {
			t.Fatalf("review, view %d (%s):\n%s", i+1, review, body)
		}
	}
	e.post("/console/trails/new", sc, withParams(create, "step", "create"))
	if body := e.get(review, sc).Body.String(); strings.Contains(body, `id="confirm-create"`) || strings.Contains(body, `value="tr1"`) {
		t.Fatal("the review is still shown after creating")
	}

	// Bounds: at most maxAnswers, the oldest forgotten; a large form and
	// long errors fit in maxAnswersBytes.
	s, _, err := e.c.sessions.get(t.Context(), sc.Value, e.now)
	if err != nil || s == nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", maxFormBytes-100)
	for i := 0; i < maxAnswers+3; i++ {
		s.answer(answeredForm{Page: "/console/trail?arn=" + string(rune('a'+i)), Action: "/console/trail/advanced",
			Fields: [][]string{{"advanced", big}}, Errs: fieldErrs{"": strings.Repeat("é", maxAnswerErrBytes)}}, "", e.now)
	}
	s, _, _ = e.c.sessions.get(t.Context(), sc.Value, e.now)
	if n, size := len(s.doc.Answers), answersSize(s.doc.Answers); n == 0 || n > maxAnswers || size > maxAnswersBytes {
		t.Fatalf("%d answers of %d bytes kept", n, size)
	}
	if last := s.doc.Answers[len(s.doc.Answers)-1]; last.Page != "/console/trail?arn="+string(rune('a'+maxAnswers+2)) || len(last.Fields) != 1 ||
		!strings.HasSuffix(last.Errs[""], "…") || !strings.HasPrefix(last.Errs[""], "é") {
		t.Fatalf("the newest answer: %s, %d fields, error of %d bytes", last.Page, len(last.Fields), len(last.Errs[""]))
	}
	// Forgotten after answerFor.
	e.now = e.now.Add(answerFor + time.Second)
	if a := s.takeAnswer(httptestGet("/console/trail?arn="+string(rune('a'+maxAnswers+2))), e.now); a != nil {
		t.Fatal("an answer outlived answerFor")
	}
}

func httptestGet(target string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, target, nil)
	return r
}
