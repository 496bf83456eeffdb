package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/server"
	"github.com/cairn-audit/cairn/internal/trail"
)

// Creating a trail as CloudTrail's console does: the trail's settings, the
// events it logs (management read/write, S3 data events, Insights) and
// whether logging starts, in one form; a review of what will be created;
// then CreateTrail, PutEventSelectors, PutInsightSelectors and
// StartLogging, each only when needed. A failure partway says what was
// done and what was not.

// createEvents is the events part of the create form.
type createEvents struct {
	MgmtRead   bool
	MgmtWrite  bool
	ExcludeKMS bool
	ExcludeRDS bool
	S3         string
	Insight    insightForm
	// Start starts logging once the trail is created.
	Start bool
}

// defaultEvents is what the create form starts with: all management
// events, logging on (as CloudTrail's console does).
func defaultEvents() createEvents {
	return createEvents{MgmtRead: true, MgmtWrite: true, Start: true}
}

// readEvents reads the events part; a request without it (events_form
// absent, as from a script calling the form) keeps the defaults of the
// API: all management events, and logging not started.
func readEvents(f url.Values) createEvents {
	if f.Get("events_form") == "" {
		return createEvents{MgmtRead: true, MgmtWrite: true}
	}
	return createEvents{MgmtRead: f.Get("mgmt_read") != "", MgmtWrite: f.Get("mgmt_write") != "",
		ExcludeKMS: f.Get("exclude_kms") != "", ExcludeRDS: f.Get("exclude_rds") != "", S3: f.Get("s3"),
		Insight: readInsightForm(f), Start: f.Get("start_logging") != ""}
}

// basic is the basic event selector the choice describes, and whether it
// is the one a new trail has anyway (so PutEventSelectors is not needed).
func (e createEvents) basic() (b basicForm, isDefault bool, err error) {
	b = basicForm{ReadWrite: trail.ReadWriteAll, Management: e.MgmtRead || e.MgmtWrite, S3: strings.TrimSpace(e.S3),
		ExcludeKMS: e.ExcludeKMS, ExcludeRDS: e.ExcludeRDS}
	switch {
	case e.MgmtRead && !e.MgmtWrite:
		b.ReadWrite = trail.ReadWriteReadOnly
	case e.MgmtWrite && !e.MgmtRead:
		b.ReadWrite = trail.ReadWriteWriteOnly
	}
	if !b.Management && b.S3 == "" {
		return b, false, formMessage("Choose the events to log: management events (read, write or both), S3 data events, or both.")
	}
	if !b.Management && (b.ExcludeKMS || b.ExcludeRDS) {
		return b, false, formMessage("Excluding AWS KMS or RDS Data API events applies to management events; choose read or write management events too.")
	}
	return b, b.ReadWrite == trail.ReadWriteAll && b.Management && b.S3 == "" && !b.ExcludeKMS && !b.ExcludeRDS, nil
}

// S3Lines are the S3 data event values, one per line.
func (e createEvents) S3Lines() []string { return lines(e.S3) }

type newTrailPage struct {
	base
	Form   trailForm
	Events createEvents
	// Review shows what will be created, with the form's values as hidden
	// fields, instead of the form.
	Review bool
	// Calls are the API calls creating will make, in order.
	Calls []string
}

// newTrailPath is the create flow's page, and its form's action.
const newTrailPath = "/console/trails/new"

// newTrailPage shows the create form: empty, or a step the form was
// answered with (createTrail): the form with what was sent and its
// errors, or the review.
func (c *Console) newTrailPage(w http.ResponseWriter, r *http.Request, s *session) {
	region, _ := c.region(r, s)
	p := newTrailPage{base: c.base(s, r, "Create trail", "trails", region), Form: trailForm{MultiRegion: true, Global: true, Validation: true},
		Events: defaultEvents()}
	if a := s.takeAnswer(r, c.now()); a != nil && a.Action == newTrailPath {
		p.show(*a)
	}
	c.render(w, http.StatusOK, "trail_new.html", p)
}

// show sets the page to an answered step of the create form: the form as
// sent with its errors, or, for a review without errors, the review.
func (p *newTrailPage) show(a answeredForm) {
	v := a.values()
	p.Form, p.Events = readTrailForm(v), readEvents(v)
	p.Form.Errs = a.Errs
	if v.Get("step") == "review" && len(a.Errs) == 0 {
		_, defaultSel, _ := p.Events.basic()
		p.Review, p.Title = true, "Review trail"
		p.Calls = p.calls(defaultSel)
	}
}

// createTrail handles the create form: step "review" goes to the review,
// "edit" to the form again with everything kept, and "create" (or no step)
// creates the trail. Each is a redirect (303), so a reload sends nothing
// again: the review and the form come back from the session (answered.go),
// the review and "edit" until the next step, refused input once.
func (c *Console) createTrail(w http.ResponseWriter, r *http.Request, s *session) {
	region, _ := c.region(r, s)
	p := newTrailPage{base: base{ARN: s.principal.ARN}, Form: readTrailForm(r.PostForm), Events: readEvents(r.PostForm)}
	step := r.PostForm.Get("step")
	// back answers the form with the page of the step, scrolled to anchor.
	back := func(errs fieldErrs, anchor string) {
		q := url.Values{"region": {region}}
		keep := len(errs) == 0
		if keep {
			q.Set("step", step)
		}
		a := answeredForm{Page: newTrailPath + "?" + q.Encode(), Action: newTrailPath, Fields: formFields(r.PostForm), Errs: errs, Keep: keep}
		http.Redirect(w, r, s.answer(a, anchor, c.now()), http.StatusSeeOther)
	}
	if step == "edit" {
		back(nil, "#create-form")
		return
	}
	tags, basic, defaultSel, ok := p.check()
	if !ok {
		back(p.Form.Errs, "#create-form")
		return
	}
	if step == "review" {
		back(nil, "#review-form")
		return
	}
	run := creation{c: c, r: r, who: c.caller(r, s, region), form: p.Form, events: p.Events}
	arn, err := run.create(tags)
	if err != nil {
		back(placeErr(nil, err, "name", "bucket", "prefix", "kms", "sns", "log_group", "log_role", "options", "tags"), "#create-form")
		return
	}
	s.dropAnswers(newTrailPath)
	msg, failed := run.rest(arn, basic, defaultSel)
	s.setFlash(msg, failed)
	http.Redirect(w, r, trailLink(region, arn), http.StatusSeeOther)
}

// check validates what the console can before calling the API, setting
// the errors next to their fields.
func (p *newTrailPage) check() (tags []trail.Tag, basic basicForm, defaultSel, ok bool) {
	errs := fieldErrs{}
	if p.Form.Name == "" {
		errs["name"] = "Enter the trail's name."
	}
	if p.Form.Bucket == "" {
		errs["bucket"] = "Enter the S3 bucket the trail delivers log files to."
	}
	if p.Form.LogRole != "" && p.Form.LogGroup == "" {
		errs["log_group"] = "Enter the log group the role delivers to, or empty the role."
	}
	tags, err := parseTags(p.Form.Tags)
	if err != nil {
		errs["tags"] = err.Error()
	}
	basic, defaultSel, err = p.Events.basic()
	if err != nil {
		errs["events"] = err.Error()
	}
	p.precheck(errs, tags, basic, defaultSel)
	p.Form.Errs = errs
	return tags, basic, defaultSel, len(errs) == 0
}

// precheck adds to errs what CloudTrail's own rules refuse in the fields
// that have no error yet (name, bucket, prefix, tags, the S3 data event
// values), so that the review step catches them before anything is
// created: a refusal after CreateTrail leaves a trail made but not as
// asked. The checks are the trail package's, as the API runs them.
func (p *newTrailPage) precheck(errs fieldErrs, tags []trail.Tag, basic basicForm, defaultSel bool) {
	check := func(field string, err error) {
		if err != nil && errs[field] == "" {
			e := awsproto.As(err)
			errs[field] = string(e.Code) + ": " + e.Message
		}
	}
	if p.Form.Name != "" {
		check("name", trail.ValidateName(p.Form.Name))
	}
	if p.Form.Bucket != "" {
		check("bucket", trail.ValidateBucketName(p.Form.Bucket))
	}
	if p.Form.Prefix != "" {
		check("prefix", trail.ValidatePrefix(p.Form.Prefix))
	}
	if errs["tags"] == "" {
		check("tags", trail.ValidateTags(tags))
	}
	if errs["events"] == "" && !defaultSel {
		check("events", trail.ValidateSelectors([]trail.EventSelector{basic.selector()}, nil, partitionOf(p.ARN)))
	}
}

// partitionOf is the partition of an ARN ("aws" when it names none).
func partitionOf(arn string) string {
	if parts := strings.SplitN(arn, ":", 3); len(parts) == 3 && parts[0] == "arn" && parts[1] != "" {
		return parts[1]
	}
	return "aws"
}

// calls are the API calls creating will make.
func (p *newTrailPage) calls(defaultSel bool) []string {
	calls := []string{"CreateTrail"}
	if !defaultSel {
		calls = append(calls, "PutEventSelectors")
	}
	if len(p.Events.Insight.selectors()) > 0 {
		calls = append(calls, "PutInsightSelectors")
	}
	if p.Events.Start {
		calls = append(calls, "StartLogging")
	}
	return calls
}

// creation runs the calls that create a trail.
type creation struct {
	c      *Console
	r      *http.Request
	who    server.Caller
	form   trailForm
	events createEvents
}

// create runs CreateTrail and returns the new trail's ARN.
func (k creation) create(tags []trail.Tag) (string, error) {
	f := k.form
	group, role := f.cloudWatch()
	in := trail.CreateTrailInput{Name: &f.Name, S3BucketName: &f.Bucket, IsMultiRegionTrail: &f.MultiRegion,
		IncludeGlobalServiceEvents: &f.Global, EnableLogFileValidation: &f.Validation,
		S3KeyPrefix: setOrNil(f.Prefix), SnsTopicName: setOrNil(f.SNS), KmsKeyId: setOrNil(f.KMS),
		CloudWatchLogsLogGroupArn: setOrNil(group), CloudWatchLogsRoleArn: setOrNil(role), TagsList: tags}
	out, err := k.c.opts.API.CreateTrail(k.r.Context(), k.who, in)
	if err := k.c.refused("CreateTrail", err); err != nil {
		return "", err
	}
	return out.TrailARN, nil
}

// rest applies the events and starts logging once the trail exists. It
// stops at the first refusal and says what was done and what was not;
// failed reports that one was refused.
func (k creation) rest(arn string, basic basicForm, defaultSel bool) (msg string, failed bool) {
	ctx, name := k.r.Context(), k.form.Name
	done := []string{"Trail " + name + " created"}
	type step struct {
		what string // what the step does, for the message
		run  func() error
	}
	var steps []step
	if !defaultSel {
		steps = append(steps, step{"event selectors saved", func() error {
			in := server.PutEventSelectorsInput{TrailName: &arn, EventSelectors: []trail.EventSelector{basic.selector()}}
			_, err := k.c.opts.API.PutEventSelectors(ctx, k.who, in)
			return k.c.refused("PutEventSelectors", err)
		}})
	}
	if sel := k.events.Insight.selectors(); len(sel) > 0 {
		steps = append(steps, step{"Insights turned on (" + strings.Join(insightTypes(sel), ", ") + ")", func() error {
			_, err := k.c.opts.API.PutInsightSelectors(ctx, k.who, server.PutInsightSelectorsInput{TrailName: &arn, InsightSelectors: &sel})
			return k.c.refused("PutInsightSelectors", err)
		}})
	}
	if k.events.Start {
		steps = append(steps, step{"logging started", func() error {
			return k.c.refused("StartLogging", k.c.opts.API.StartLogging(ctx, k.who, server.NameInput{Name: &arn}))
		}})
	}
	for i, st := range steps {
		if err := st.run(); err != nil {
			var notDone []string
			for _, later := range steps[i+1:] {
				notDone = append(notDone, later.what)
			}
			msg := strings.Join(done, "; ") + ". Not done: " + st.what + ", refused with " + errText(err)
			if len(notDone) > 0 {
				msg += "; and so not tried: " + strings.Join(notDone, "; ")
			}
			return msg + ". Fix it on this page.", true
		}
		done = append(done, st.what)
	}
	if !k.events.Start {
		done = append(done, "it does not log until you start logging")
	}
	return strings.Join(done, "; ") + ".", false
}
