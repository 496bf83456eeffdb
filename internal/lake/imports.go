package lake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/bucket"
	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/importer"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/trail"
)

// Import status values (ImportStatus).
const (
	ImportInitializing = "INITIALIZING"
	ImportInProgress   = "IN_PROGRESS"
	ImportFailed       = "FAILED"
	ImportStopped      = "STOPPED"
	ImportCompleted    = "COMPLETED"
)

var importStatuses = []string{ImportInitializing, ImportInProgress, ImportFailed, ImportStopped, ImportCompleted}

const importPrefix = "lake/import/"

// maxImportFailures bounds the failures an import keeps for
// ListImportFailures (the count goes on).
const maxImportFailures = 1000

// Buckets is what imports need of object storage: the bucket of a name,
// and the account that owns it (an import reads only its own account's
// buckets).
type Buckets interface {
	Open(name string) (bucket.Bucket, error)
	BucketOwner(ctx context.Context, name string) (string, error)
}

// Import is an import of trail log files into an event data store
// (StartImport), kept in lake/import/<account>/<id>. It runs on the node
// that accepted it, into that node's copy of the store.
type Import struct {
	ID          string
	Account     string
	Region      string
	Destination string // the store's ARN
	StoreID     string
	Source      ImportSource
	Start, End  time.Time `json:",omitzero"`
	Status      string
	Node        string
	Created     time.Time
	Updated     time.Time
	Stats       ImportStats
	Failures    []ImportFailure `json:",omitempty"`

	version int64
}

// ImportSource is S3ImportSource.
type ImportSource struct {
	S3LocationUri         string
	S3BucketRegion        string
	S3BucketAccessRoleArn string
}

// ImportStats is ImportStatistics.
type ImportStats struct {
	PrefixesFound     int64
	PrefixesCompleted int64
	FilesCompleted    int64
	EventsCompleted   int64
	FailedEntries     int64
}

// ImportFailure is ImportFailureListItem.
type ImportFailure struct {
	Location     string
	Status       string
	ErrorType    string
	ErrorMessage string
	Updated      time.Time
}

func (im *Import) ended() bool {
	return im.Status == ImportFailed || im.Status == ImportStopped || im.Status == ImportCompleted
}

func importKey(account, id string) string { return importPrefix + account + "/" + id }

// StartImportInput is StartImportRequest.
type StartImportInput struct {
	Destinations []string
	ImportSource *struct{ S3 *ImportSource }
	StartEventTime,
	EndEventTime *awsproto.Time
	ImportId *string
}

// s3URI reads s3://bucket[/prefix][/AWSLogs[/<org-id>]/<account>[/CloudTrail/<region>]].
var s3URI = regexp.MustCompile(`^s3://([a-z0-9][a-z0-9.\-_]{1,61}[a-z0-9])(/.*)?$`)

// importPlan is where an import reads: the bucket, the trail prefix, and
// the accounts and regions the URI narrows it to.
type importPlan struct {
	bucket   string
	prefix   string
	accounts []string
	regions  []string
	orgID    string
}

func parseImportURI(uri string) (importPlan, error) {
	m := s3URI.FindStringSubmatch(uri)
	if m == nil {
		return importPlan{}, awsproto.Errorf(awsproto.InvalidImportSourceException,
			"S3LocationUri %q is not s3://<bucket>[/<prefix>][/AWSLogs/[<org-id>/]<account>/CloudTrail/<region>].", uri)
	}
	p := importPlan{bucket: m[1]}
	parts := strings.Split(strings.Trim(m[2], "/"), "/")
	if len(parts) == 1 && parts[0] == "" {
		parts = nil
	}
	i := slices.Index(parts, "AWSLogs")
	if i < 0 {
		p.prefix = strings.Join(parts, "/")
	} else {
		p.prefix = strings.Join(parts[:i], "/")
		rest := parts[i+1:]
		if len(rest) > 0 && strings.HasPrefix(rest[0], "o-") {
			p.orgID, rest = rest[0], rest[1:]
		}
		if len(rest) > 0 {
			p.accounts = []string{rest[0]}
		}
		if len(rest) > 2 && rest[1] == "CloudTrail" {
			p.regions = []string{rest[2]}
		}
		if len(rest) > 3 || len(rest) == 2 && rest[1] != "CloudTrail" {
			return importPlan{}, awsproto.Errorf(awsproto.InvalidImportSourceException,
				"S3LocationUri %q goes deeper than a region's folder; name the bucket, the trail's prefix, or an AWSLogs/<account>/CloudTrail/<region> folder.", uri)
		}
	}
	if p.prefix != "" {
		p.prefix = path.Clean(p.prefix) + "/"
	}
	return p, nil
}

// StartImport checks and starts an import (StartImport): a new one, or,
// given ImportId, one that stopped or failed, again from its start
// (events already copied are not copied twice).
func (s *Service) StartImport(ctx context.Context, c Caller, in StartImportInput) (*Import, error) {
	if in.ImportId != nil {
		return s.restartImport(ctx, c, *in.ImportId)
	}
	if len(in.Destinations) != 1 {
		return nil, awsproto.Errorf(awsproto.InvalidParameterException, "Destinations must name exactly one event data store; got %d.", len(in.Destinations))
	}
	if src := in.ImportSource; src == nil || src.S3 == nil || src.S3.S3LocationUri == "" || src.S3.S3BucketRegion == "" || src.S3.S3BucketAccessRoleArn == "" {
		return nil, awsproto.Errorf(awsproto.InvalidParameterException, "ImportSource.S3 with S3LocationUri, S3BucketRegion and S3BucketAccessRoleArn is required.")
	}
	d, err := s.Get(ctx, c, &in.Destinations[0])
	if err != nil {
		return nil, err
	}
	if d.Status == StatusPendingDeletion {
		return nil, inactive(d)
	}
	im := &Import{ID: uuid.NewString(), Account: c.Account, Region: c.Region, Destination: d.ARN, StoreID: d.ID,
		Source: *in.ImportSource.S3, Status: ImportInitializing, Node: s.opts.Node, Created: s.now()}
	im.Updated = im.Created
	if in.StartEventTime != nil {
		im.Start = in.StartEventTime.Time
	}
	if in.EndEventTime != nil {
		im.End = in.EndEventTime.Time
	}
	if !im.Start.IsZero() && !im.End.IsZero() && im.Start.After(im.End) {
		return nil, awsproto.Errorf(awsproto.InvalidParameterException, "StartEventTime is after EndEventTime.")
	}
	if !isHistoryURI(im.Source.S3LocationUri) {
		if _, err := s.importSource(ctx, c, im); err != nil {
			return nil, err
		}
	}
	return im, s.launchImport(ctx, im, true)
}

// HistoryURI is the S3LocationUri that names this server's own event
// history (the event log) as an import's source instead of a bucket: with
// it, StartImport fills a store with the events Cairn already holds
// (between StartEventTime and EndEventTime when given) that the store's
// accounts, regions and selectors take.
const HistoryURI = "cairn://event-history"

func isHistoryURI(uri string) bool { return strings.TrimSuffix(uri, "/") == HistoryURI }

// importSource resolves an import's bucket, refusing one that is not the
// caller's.
func (s *Service) importSource(ctx context.Context, c Caller, im *Import) (importer.Source, error) {
	p, err := parseImportURI(im.Source.S3LocationUri)
	if err != nil {
		return importer.Source{}, err
	}
	if s.opts.Buckets == nil {
		return importer.Source{}, awsproto.Errorf(awsproto.UnsupportedOperationException, "This server has no buckets to import from.")
	}
	owner, err := s.opts.Buckets.BucketOwner(ctx, p.bucket)
	if err != nil {
		return importer.Source{}, err
	}
	b, openErr := s.opts.Buckets.Open(p.bucket)
	if owner != c.Account || openErr != nil {
		return importer.Source{}, awsproto.Errorf(awsproto.InvalidImportSourceException,
			"The bucket %s does not exist or is not this account's.", p.bucket)
	}
	return importer.Source{Bucket: b, Prefix: p.prefix, URL: im.Source.S3LocationUri}, nil
}

// launchImport saves the import and runs it on this node. One import per
// account runs at a time.
func (s *Service) launchImport(ctx context.Context, im *Import, create bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	all, err := store.DecodeStates[Import](ctx, s.st, importPrefix+im.Account+"/", "lake import")
	if err != nil {
		return err
	}
	for _, o := range all {
		if o.ID != im.ID && !o.ended() {
			return awsproto.Errorf(awsproto.AccountHasOngoingImportException, "The import %s of this account is still running; stop it or wait for it to end.", o.ID)
		}
	}
	if !create {
		im.Status, im.Stats, im.Failures, im.Node, im.Updated = ImportInitializing, ImportStats{}, nil, s.opts.Node, s.now()
	}
	if err := s.putImport(ctx, im); err != nil {
		return err
	}
	mine := *im
	s.started["import:"+im.ID] = true
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.runImport(&mine)
		s.mu.Lock()
		delete(s.started, "import:"+mine.ID)
		s.mu.Unlock()
	}()
	return nil
}

func (s *Service) restartImport(ctx context.Context, c Caller, id string) (*Import, error) {
	im, err := s.GetImport(ctx, c, &id)
	if err != nil {
		return nil, err
	}
	if im.Status != ImportStopped && im.Status != ImportFailed {
		return nil, awsproto.Errorf(awsproto.InvalidParameterException, "The import %s is %s; only a stopped or failed import can be started again.", id, im.Status)
	}
	return im, s.launchImport(ctx, im, false)
}

// runImport reads the import's log files into the store.
func (s *Service) runImport(im *Import) {
	ctx := s.base
	fail := func(format string, args ...any) {
		im.Status = ImportFailed
		im.addFailure(im.Source.S3LocationUri, "ImportFailed", fmt.Sprintf(format, args...), s.now())
		s.saveImport(im)
	}
	pl, err := s.planImport(ctx, im)
	if err != nil {
		fail("%s", err.Error())
		return
	}
	if pl.history {
		s.runHistoryImport(ctx, im, pl, fail)
		return
	}
	prefixes := map[string]int{} // files left per account/region folder
	for _, f := range pl.files {
		prefixes[f.Account+"/"+f.Region]++
	}
	im.Status, im.Stats.PrefixesFound = ImportInProgress, int64(len(prefixes))
	for _, o := range pl.others {
		im.addFailure(o.folder, ErrorTypeOtherAccount, o.reason(pl.store), s.now())
	}
	if len(pl.others) > 0 {
		s.log.Info("lake: an import leaves out the folders of accounts that are not its event data store's",
			"import", im.ID, "folders", len(pl.others))
	}
	if !s.saveImport(im) {
		return
	}
	for _, f := range pl.files {
		if ctx.Err() != nil {
			fail("%s", errStopped.Error())
			return
		}
		if s.importStopped(im) {
			return
		}
		n, err := s.importFile(ctx, pl, f, func(code, msg string) { im.addFailure(f.Key, code, msg, s.now()) })
		if err != nil {
			fail("Writing events from %s failed: %v", f.Key, err)
			return
		}
		im.Stats.EventsCompleted += int64(n)
		im.Stats.FilesCompleted++
		k := f.Account + "/" + f.Region
		if prefixes[k]--; prefixes[k] == 0 {
			im.Stats.PrefixesCompleted++
		}
		if !s.saveImport(im) {
			return
		}
	}
	im.Status = ImportCompleted
	s.saveImport(im)
}

// runHistoryImport runs an import of the event log: one "prefix", no files.
func (s *Service) runHistoryImport(ctx context.Context, im *Import, pl *plannedImport, fail func(string, ...any)) {
	im.Status, im.Stats.PrefixesFound = ImportInProgress, 1
	if !s.saveImport(im) {
		return
	}
	stopped := false
	err := s.importHistory(ctx, pl, func(n int) bool {
		im.Stats.EventsCompleted += int64(n)
		if ctx.Err() != nil || s.importStopped(im) || !s.saveImport(im) {
			stopped = true
		}
		return !stopped
	})
	switch {
	case err != nil:
		fail("Copying the event history failed: %v", err)
	case ctx.Err() != nil:
		fail("%s", errStopped.Error())
	case !stopped:
		im.Stats.PrefixesCompleted = 1
		im.Status = ImportCompleted
		s.saveImport(im)
	}
}

// plannedImport is what an import reads and where it writes.
type plannedImport struct {
	src      importer.Source
	store    *DataStore
	flt      importer.Filter
	accounts []string
	files    []importer.LogFile
	// m is the store's selectors: an import copies only the events the
	// store would have taken live.
	m *trail.Matcher
	// history is set for an import of the event log (HistoryURI), which it
	// reads up to lastSeq.
	history bool
	lastSeq int64
	// others are the archive's folders of accounts the store does not
	// hold, which the import leaves out (and lists as failures).
	others []otherAccount
}

// ErrorTypeOtherAccount is the ErrorType of an import failure for the
// folder of an account that is not the event data store's: an import
// copies only the events of the store's account (or organization's member
// accounts), as a trail of the store's account would have delivered them.
// The folder is left out, and listed (ListImportFailures) so that a user
// sees which log files the import did not read, and why.
const ErrorTypeOtherAccount = "AccountNotInEventDataStore"

// otherAccount is the folder of an account an import leaves out.
type otherAccount struct {
	folder, account string
}

// reason is the failure's message.
func (o otherAccount) reason(d *DataStore) string {
	whose := "account " + d.Account + "'s"
	if d.Organization {
		whose = "organization's, and " + o.account + " is not one of its member accounts"
	}
	return fmt.Sprintf("The log files of account %s are not imported: the event data store is %s. Import them into an event data store of account %s.",
		o.account, whose, o.account)
}

var (
	accountFolder = regexp.MustCompile(`^\d{12}$`)
	orgFolder     = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
)

// otherAccounts lists the account folders of src's archive
// (AWSLogs/<account>/ and AWSLogs/<org-id>/<account>/) of accounts not in
// accounts.
func otherAccounts(ctx context.Context, src importer.Source, accounts []string) ([]otherAccount, error) {
	base := src.Prefix + "AWSLogs/"
	top, err := bucket.ListDirs(ctx, src.Bucket, base)
	if err != nil {
		return nil, err
	}
	var out []otherAccount
	add := func(folder, account string) {
		if !slices.Contains(accounts, account) {
			out = append(out, otherAccount{folder: folder + account + "/", account: account})
		}
	}
	for _, d := range top {
		switch {
		case accountFolder.MatchString(d):
			add(base, d)
		case orgFolder.MatchString(d):
			members, err := bucket.ListDirs(ctx, src.Bucket, base+d+"/")
			if err != nil {
				return nil, err
			}
			for _, a := range members {
				if accountFolder.MatchString(a) {
					add(base+d+"/", a)
				}
			}
		}
	}
	return out, nil
}

// planImport resolves an import's bucket and store and lists its log
// files. Its errors are messages for the import's failures.
func (s *Service) planImport(ctx context.Context, im *Import) (*plannedImport, error) {
	if isHistoryURI(im.Source.S3LocationUri) {
		return s.planHistoryImport(ctx, im)
	}
	src, err := s.importSource(ctx, Caller{Account: im.Account, Region: im.Region}, im)
	if err != nil {
		return nil, errors.New(awsproto.As(err).Message)
	}
	d, err := s.load(ctx, im.StoreID)
	if err != nil || d.gone(s.now()) {
		return nil, fmt.Errorf("the event data store %s is gone", im.Destination)
	}
	p, _ := parseImportURI(im.Source.S3LocationUri)
	accounts := []string{d.Account}
	if d.Organization {
		accounts = d.Members
	}
	if p.accounts != nil {
		accounts = slices.DeleteFunc(p.accounts, func(a string) bool { return !slices.Contains(accounts, a) })
		if len(accounts) == 0 {
			return nil, errors.New("the folder's account is not the event data store's")
		}
	}
	flt := importer.Filter{Accounts: accounts, Regions: p.regions, Start: im.Start, End: im.End}
	files, _, err := importer.Plan(ctx, src, flt)
	if err != nil {
		return nil, fmt.Errorf("listing the log files failed: %v", err)
	}
	var others []otherAccount
	if p.accounts == nil { // a URI that names an account's folder reads only it
		if others, err = otherAccounts(ctx, src, accounts); err != nil {
			return nil, fmt.Errorf("listing the log files failed: %v", err)
		}
	}
	m, err := storeMatcher(d)
	if err != nil {
		return nil, fmt.Errorf("the event data store's selectors do not compile: %v", err)
	}
	return &plannedImport{src: src, store: d, flt: flt, accounts: accounts, files: files, m: m, others: others}, nil
}

// planHistoryImport plans an import of the event log into the store.
func (s *Service) planHistoryImport(ctx context.Context, im *Import) (*plannedImport, error) {
	d, err := s.load(ctx, im.StoreID)
	if err != nil || d.gone(s.now()) {
		return nil, fmt.Errorf("the event data store %s is gone", im.Destination)
	}
	m, err := storeMatcher(d)
	if err != nil {
		return nil, fmt.Errorf("the event data store's selectors do not compile: %v", err)
	}
	last, err := s.lastSeq(ctx)
	if err != nil {
		return nil, err
	}
	return &plannedImport{store: d, m: m, history: true, lastSeq: last,
		flt: importer.Filter{Start: im.Start, End: im.End}}, nil
}

// inRange reports whether t is within the filter's StartEventTime and
// EndEventTime (either may be unset), both included.
func inRange(t time.Time, f importer.Filter) bool {
	return (f.Start.IsZero() || !t.Before(f.Start)) && (f.End.IsZero() || !t.After(f.End))
}

// historyBatch is how many events of the log an import of the history
// reads at a time.
const historyBatch = 1000

// importHistory copies into the store on this node the events of the log
// up to pl.lastSeq that the store takes (its accounts and regions, its
// selectors, the import's time range), calling progress with the count of
// each batch; stop is asked between batches.
func (s *Service) importHistory(ctx context.Context, pl *plannedImport, progress func(n int) bool) error {
	for pos := int64(0); pos < pl.lastSeq; {
		evs, err := s.st.ReadLog(ctx, pos, historyBatch)
		if err != nil {
			return fmt.Errorf("reading the event history: %w", err)
		}
		if len(evs) == 0 {
			return nil
		}
		pos = evs[len(evs)-1].Seq
		take := evs[:0:0]
		cut := pl.store.retentionCut(s.now())
		for _, ev := range evs {
			if ev.Seq > pl.lastSeq || !pl.store.covers(ev) || !inRange(ev.Time, pl.flt) || ev.Time.Before(cut) {
				continue
			}
			fl, err := trail.ParseFields(ev.Record)
			if err != nil {
				fl = trail.Fields{}
			}
			if pl.m.Match(&fl) {
				take = append(take, ev)
			}
		}
		added, err := s.engine.InsertCount(ctx, pl.store.ID, take)
		if err != nil {
			return err
		}
		// Events the store had already (live fill, an earlier import)
		// are not completed by this import: EventsCompleted counts the
		// events it added.
		if !progress(int(added)) {
			return nil
		}
	}
	return nil
}

// importFile copies one log file's events into the store on this node and
// returns how many; failed is told of each record (or the file) it could
// not read. An error is the engine's: the import cannot go on.
func (s *Service) importFile(ctx context.Context, pl *plannedImport, f importer.LogFile, failed func(code, msg string)) (int, error) {
	recs, _, err := importer.ReadLogFile(ctx, pl.src, f, pl.flt)
	if err != nil {
		failed("UnreadableLogFile", err.Error())
		return 0, nil
	}
	mayWrite := func(a string) bool { return slices.Contains(pl.accounts, a) }
	evs := make([]*event.Event, 0, len(recs))
	cut := pl.store.retentionCut(s.now())
	for _, r := range recs {
		ev, ferr := event.Decode(r, event.Context{Account: pl.store.Account, MayWriteFor: mayWrite, Now: s.now()})
		if ferr != nil {
			failed(ferr.Code, ferr.Message)
			continue
		}
		fl, err := trail.ParseFields(ev.Record)
		if err != nil {
			fl = trail.Fields{} // as the filler matches it
		}
		if !pl.m.Match(&fl) || ev.Time.Before(cut) {
			continue // not an event the store selects, or past its retention
		}
		evs = append(evs, ev)
	}
	added, err := s.engine.InsertCount(ctx, pl.store.ID, evs)
	return int(added), err
}

// replayEvery is how often a node looks for imports other nodes ran.
const replayEvery = 10 * time.Second

// replayImports copies into this node's copy of the stores the imports
// other nodes completed (each node keeps its own copy of the events), once
// each: a state document lake/imported/<node>/<id> records it.
func (s *Service) replayImports(ctx context.Context) error {
	docs, err := s.st.ListState(ctx, importPrefix)
	if err != nil {
		return err
	}
	var errs []error
	for _, doc := range docs {
		im := new(Import)
		if json.Unmarshal(doc.Doc, im) != nil || im.Node == s.opts.Node || im.Status != ImportCompleted {
			continue
		}
		mark := "lake/imported/" + s.opts.Node + "/" + im.ID
		if _, err := s.st.GetState(ctx, mark); err == nil {
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, err)
			continue
		}
		if err := s.replayImport(ctx, im); err != nil {
			errs = append(errs, fmt.Errorf("lake: import %s on this node: %w", im.ID, err))
			continue
		}
		if err := s.engine.Sync(ctx); err != nil {
			errs = append(errs, err)
			continue
		}
		b, _ := json.Marshal(map[string]time.Time{"Replayed": s.now()})
		if _, err := s.st.PutState(ctx, mark, b, 0); err != nil && !errors.Is(err, store.ErrExists) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Service) replayImport(ctx context.Context, im *Import) error {
	pl, err := s.planImport(ctx, im)
	if err != nil {
		return err
	}
	if pl.history {
		return s.importHistory(ctx, pl, func(int) bool { return ctx.Err() == nil })
	}
	for _, f := range pl.files {
		if _, err := s.importFile(ctx, pl, f, func(string, string) {}); err != nil {
			return err
		}
	}
	s.log.Info("lake: an import another node ran is copied here too", "import", im.ID, "files", len(pl.files))
	return nil
}

func (im *Import) addFailure(loc, typ, msg string, now time.Time) {
	im.Stats.FailedEntries++
	if len(im.Failures) < maxImportFailures {
		im.Failures = append(im.Failures, ImportFailure{Location: loc, Status: ImportFailed, ErrorType: typ, ErrorMessage: msg, Updated: now})
	}
}

// importStopped reports whether StopImport stopped the import.
func (s *Service) importStopped(im *Import) bool {
	cur, err := s.loadImport(context.Background(), im.Account, im.ID)
	return err == nil && cur.Status == ImportStopped
}

// saveImport records the import's progress; false when it was stopped
// meanwhile (and then the stop stands).
func (s *Service) saveImport(im *Import) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The events counted must be durable before the count is recorded
	// (the engine need not sync each insert).
	if err := s.engine.Sync(ctx); err != nil {
		s.log.Error("lake: recording an import's progress failed", "import", im.ID, "err", err)
		return false
	}
	for attempt := 0; attempt < 5; attempt++ {
		cur, err := s.loadImport(ctx, im.Account, im.ID)
		if err != nil {
			s.log.Error("lake: recording an import's progress failed", "import", im.ID, "err", err)
			return false
		}
		if cur.Status == ImportStopped {
			cur.Stats, cur.Failures = im.Stats, im.Failures
			_ = s.putImport(ctx, cur)
			return false
		}
		im.version, im.Updated = cur.version, s.now()
		if err = s.putImport(ctx, im); err == nil {
			return true
		}
		if !errors.Is(err, store.ErrConflict) {
			s.log.Error("lake: recording an import's progress failed", "import", im.ID, "err", err)
			return false
		}
	}
	return false
}

// GetImport returns an import of the caller's account (GetImport).
func (s *Service) GetImport(ctx context.Context, c Caller, id *string) (*Import, error) {
	if id == nil || *id == "" {
		return nil, awsproto.Errorf(awsproto.InvalidParameterException, "ImportId is required.")
	}
	im, err := s.loadImport(ctx, c.Account, *id)
	if errors.Is(err, store.ErrNotFound) || err == nil && im.Region != c.Region {
		return nil, awsproto.Errorf(awsproto.ImportNotFoundException, "No import %s in this account and region.", *id)
	}
	return im, err
}

// StopImport stops a running import (StopImport); a stopped import can
// be started again with StartImport's ImportId.
func (s *Service) StopImport(ctx context.Context, c Caller, id *string) (*Import, error) {
	for {
		im, err := s.GetImport(ctx, c, id)
		if err != nil {
			return nil, err
		}
		if im.ended() {
			return im, nil
		}
		im.Status, im.Updated = ImportStopped, s.now()
		if err := s.putImport(ctx, im); !errors.Is(err, store.ErrConflict) {
			return im, err
		}
	}
}

// ListImports lists the caller's imports, newest first, optionally of
// one store and status.
func (s *Service) ListImports(ctx context.Context, c Caller, dest, status *string) ([]*Import, error) {
	if status != nil && !slices.Contains(importStatuses, *status) {
		return nil, awsproto.Errorf(awsproto.InvalidParameterException, "ImportStatus must be one of %s; got %q.", strings.Join(importStatuses, ", "), *status)
	}
	var storeID string
	if dest != nil {
		d, err := s.Get(ctx, c, dest)
		if err != nil {
			return nil, err
		}
		storeID = d.ID
	}
	all, err := store.DecodeStates[Import](ctx, s.st, importPrefix+c.Account+"/", "lake import")
	if err != nil {
		return nil, err
	}
	var out []*Import
	for _, im := range all {
		if im.Region == c.Region && (storeID == "" || im.StoreID == storeID) && (status == nil || im.Status == *status) {
			out = append(out, im)
		}
	}
	slices.SortFunc(out, func(a, b *Import) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

func (s *Service) loadImport(ctx context.Context, account, id string) (*Import, error) {
	doc, err := s.st.GetState(ctx, importKey(account, id))
	if err != nil {
		return nil, err
	}
	im := new(Import)
	if err := json.Unmarshal(doc.Doc, im); err != nil {
		return nil, fmt.Errorf("lake: import %s: %w", id, err)
	}
	im.version = doc.Version
	return im, nil
}

func (s *Service) putImport(ctx context.Context, im *Import) error {
	b, err := json.Marshal(im)
	if err != nil {
		return err
	}
	v, err := s.st.PutState(ctx, importKey(im.Account, im.ID), b, im.version)
	if err != nil {
		return err
	}
	im.version = v
	return nil
}

// failOrphanImports ends the imports this node ran when it stopped: they
// can be started again with StartImport's ImportId.
func (s *Service) failOrphanImports(ctx context.Context) {
	docs, err := s.st.ListState(ctx, importPrefix)
	if err != nil {
		s.log.Warn("lake: listing imports failed", "err", err)
		return
	}
	for _, doc := range docs {
		im := new(Import)
		if json.Unmarshal(doc.Doc, im) != nil || im.Node != s.opts.Node || im.ended() {
			continue
		}
		s.mu.Lock()
		running := s.running("import:" + im.ID)
		s.mu.Unlock()
		if running {
			continue
		}
		im.version = doc.Version
		im.Status = ImportFailed
		im.addFailure(im.Source.S3LocationUri, "ImportFailed", errStopped.Error()+"; start it again with its ImportId.", s.now())
		_ = s.putImport(ctx, im)
	}
}
