package lake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/trail"
)

// Status values of an event data store (EventDataStoreStatus). Cairn's
// changes take effect at once, so the STARTING_/STOPPING_ ones are never
// shown; statusGone is Cairn's own: a store past its pending deletion,
// kept as a tombstone so that every node drops its events.
//
// StatusCreated is what CreateEventDataStore answers, as CloudTrail does
// ("the status of event data store creation"); the store itself is never
// kept CREATED: it is ENABLED (or STOPPED_INGESTION) by the time the
// answer leaves, so the first GetEventDataStore shows it ready and a
// StartQuery straight after CreateEventDataStore runs.
const (
	StatusCreated         = "CREATED"
	StatusEnabled         = "ENABLED"
	StatusStopped         = "STOPPED_INGESTION"
	StatusPendingDeletion = "PENDING_DELETION"
	statusGone            = "GONE"
)

// Billing modes and their retention bounds (days).
const (
	BillingExtendable = "EXTENDABLE_RETENTION_PRICING"
	BillingFixed      = "FIXED_RETENTION_PRICING"
)

// tombstoneKeep is how long a gone store's tombstone stays, for nodes
// that were down when it went to drop its events.
const tombstoneKeep = 30 * 24 * time.Hour

const storePrefix = "lake/store/"

// DataStore is an event data store as kept in its state document.
type DataStore struct {
	ID             string
	ARN            string
	Name           string
	Account        string
	Region         string
	Status         string
	Selectors      []trail.AdvancedEventSelector
	MultiRegion    bool
	Organization   bool
	OrganizationID string `json:",omitempty"`
	// Members are the organization's accounts when Organization is set.
	Members               []string `json:",omitempty"`
	RetentionDays         int
	TerminationProtection bool
	BillingMode           string
	Tags                  []trail.Tag `json:",omitempty"`
	Created, Updated      time.Time
	// Deleted is when DeleteEventDataStore ran (PENDING_DELETION);
	// resume is the status RestoreEventDataStore returns to.
	Deleted time.Time `json:",omitempty"`
	Resume  string    `json:",omitempty"`
	// Ingest are the log ranges the store takes events from: every
	// event numbered in (From, To] (To 0: no end yet). Ranges are log
	// positions, not times, so that every node fills the same events.
	Ingest []SeqRange

	version int64
}

// SeqRange is a range of log positions: (From, To], To 0 for open.
type SeqRange struct{ From, To int64 }

// takes reports whether the store takes the event numbered seq.
func (d *DataStore) takes(seq int64) bool {
	for _, r := range d.Ingest {
		if seq > r.From && (r.To == 0 || seq <= r.To) {
			return true
		}
	}
	return false
}

// gone reports whether the store no longer exists for its account at now.
func (d *DataStore) gone(now time.Time) bool {
	return d.Status == statusGone || d.Status == StatusPendingDeletion && now.Sub(d.Deleted) >= PendingDeletion
}

var (
	nameRE = regexp.MustCompile(`^[a-zA-Z0-9._\-]{3,128}$`)
	idRE   = regexp.MustCompile(`^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$`)
	arnRE  = regexp.MustCompile(`^arn:([a-z-]+):cloudtrail:([a-z0-9-]+):([0-9]{12}):eventdatastore/([a-f0-9-]{36})$`)
)

// CreateInput is CreateEventDataStoreRequest.
type CreateInput struct {
	Name                         *string
	AdvancedEventSelectors       []trail.AdvancedEventSelector
	MultiRegionEnabled           *bool
	OrganizationEnabled          *bool
	RetentionPeriod              *int
	TerminationProtectionEnabled *bool
	TagsList                     []trail.Tag
	KmsKeyId                     *string
	StartIngestion               *bool
	BillingMode                  *string
}

// UpdateInput is UpdateEventDataStoreRequest.
type UpdateInput struct {
	EventDataStore               *string
	Name                         *string
	AdvancedEventSelectors       []trail.AdvancedEventSelector
	MultiRegionEnabled           *bool
	OrganizationEnabled          *bool
	RetentionPeriod              *int
	TerminationProtectionEnabled *bool
	KmsKeyId                     *string
	BillingMode                  *string
}

// DefaultSelectors is what a store has when created without selectors:
// every management event (as CloudTrail's console and API do).
func DefaultSelectors() []trail.AdvancedEventSelector {
	field, mgmt, name := "eventCategory", "Management", "Default management events"
	return []trail.AdvancedEventSelector{{Name: &name,
		FieldSelectors: []trail.AdvancedFieldSelector{{Field: &field, Equals: []string{mgmt}}}}}
}

// retentionBounds are the retention periods a billing mode allows, and
// its default.
func retentionBounds(mode string) (lo, hi, def int) {
	if mode == BillingFixed {
		return 7, 2557, 2557
	}
	return 7, 3653, 366
}

// Create makes an event data store (CreateEventDataStore).
func (s *Service) Create(ctx context.Context, c Caller, in CreateInput) (*DataStore, error) {
	if in.Name == nil || !nameRE.MatchString(*in.Name) {
		return nil, awsproto.Errorf(awsproto.InvalidParameterException,
			"Name must be 3 to 128 characters of letters, digits, periods, underscores and hyphens; got %q.", deref(in.Name))
	}
	now := s.now()
	d := &DataStore{ID: uuid.NewString(), Name: *in.Name, Account: c.Account, Region: c.Region,
		MultiRegion: true, TerminationProtection: true, BillingMode: BillingExtendable,
		Tags: in.TagsList, Created: now, Updated: now}
	d.ARN = fmt.Sprintf("arn:%s:cloudtrail:%s:%s:eventdatastore/%s", s.opts.Partition, c.Region, c.Account, d.ID)
	if err := trail.ValidateTags(in.TagsList); err != nil {
		return nil, err
	}
	set := settings{Selectors: in.AdvancedEventSelectors, MultiRegion: in.MultiRegionEnabled, Organization: in.OrganizationEnabled,
		Retention: in.RetentionPeriod, TerminationProtection: in.TerminationProtectionEnabled, KmsKeyID: in.KmsKeyId, BillingMode: in.BillingMode}
	if set.Selectors == nil {
		set.Selectors = DefaultSelectors()
	}
	if err := s.apply(c, d, set, true); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	all, err := s.all(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.checkNameAndCount(all, d, true); err != nil {
		return nil, err
	}
	d.Status = StatusStopped
	if in.StartIngestion == nil || *in.StartIngestion {
		last, err := s.lastSeq(ctx)
		if err != nil {
			return nil, err
		}
		d.Status = StatusEnabled
		d.Ingest = []SeqRange{{From: last}}
	}
	if err := s.put(ctx, d); err != nil {
		return nil, err
	}
	s.filler.changed()
	answer := *d
	answer.Status = StatusCreated
	return &answer, nil
}

// checkNameAndCount refuses a name another live store of the account and
// region has, and (when counting) a store over the account's limit.
func (s *Service) checkNameAndCount(all []*DataStore, d *DataStore, counting bool) error {
	n := 0
	now := s.now()
	for _, o := range all {
		if o.ID == d.ID || o.Account != d.Account || o.Region != d.Region || o.gone(now) {
			continue
		}
		if o.Name == d.Name {
			return awsproto.Errorf(awsproto.EventDataStoreAlreadyExistsException, "An event data store named %s already exists in this account and region.", d.Name)
		}
		if o.Status != StatusPendingDeletion {
			n++
		}
	}
	if counting && n >= MaxStoresPerAccount {
		return awsproto.Errorf(awsproto.EventDataStoreMaxLimitExceededException,
			"This account has %d event data stores in %s, the most it may have.", n, d.Region)
	}
	return nil
}

// settings are what Create and Update may set.
type settings struct {
	Selectors             []trail.AdvancedEventSelector
	MultiRegion           *bool
	Organization          *bool
	Retention             *int
	TerminationProtection *bool
	KmsKeyID              *string
	BillingMode           *string
}

// apply checks and sets what in gives.
func (s *Service) apply(c Caller, d *DataStore, in settings, creating bool) error {
	if in.KmsKeyID != nil {
		return awsproto.Errorf(awsproto.UnsupportedOperationException,
			"Cairn does not encrypt event data stores with KMS keys; leave KmsKeyId out.")
	}
	if in.BillingMode != nil {
		switch m := *in.BillingMode; {
		case m != BillingExtendable && m != BillingFixed:
			return awsproto.Errorf(awsproto.InvalidParameterException, "BillingMode must be %s or %s; got %q.", BillingExtendable, BillingFixed, m)
		case !creating && m == BillingFixed && d.BillingMode == BillingExtendable:
			return awsproto.Errorf(awsproto.InvalidParameterException, "An event data store's billing mode can change from %s to %s, not back.", BillingFixed, BillingExtendable)
		}
	}
	mode := d.BillingMode
	if in.BillingMode != nil {
		mode = *in.BillingMode
	}
	lo, hi, def := retentionBounds(mode)
	days := d.RetentionDays
	switch {
	case in.Retention != nil:
		days = *in.Retention
	case creating:
		days = def
	}
	if days < lo || days > hi {
		return awsproto.Errorf(awsproto.InvalidParameterException,
			"RetentionPeriod must be %d to %d days with billing mode %s; got %d.", lo, hi, mode, days)
	}
	if in.Selectors != nil {
		if err := trail.ValidateDataStoreSelectors(in.Selectors); err != nil {
			return err
		}
		if _, err := trail.Compile(nil, in.Selectors); err != nil {
			return err
		}
		d.Selectors = in.Selectors
	}
	if in.Organization != nil {
		if *in.Organization {
			org := s.opts.Ownership.Organization
			if org == nil {
				return awsproto.Errorf(awsproto.OrganizationsNotInUseException,
					"This account is not part of an organization; configure organization: to create organization event data stores.")
			}
			if c.Account != org.ManagementAccount {
				return awsproto.Errorf(awsproto.NotOrganizationMasterAccountException,
					"Account %s is not the management account of organization %s; only %s can make organization event data stores.", c.Account, org.ID, org.ManagementAccount)
			}
			d.OrganizationID, d.Members = org.ID, s.opts.Ownership.OrganizationMembers()
		} else {
			d.OrganizationID, d.Members = "", nil
		}
		d.Organization = *in.Organization
	}
	if in.MultiRegion != nil {
		d.MultiRegion = *in.MultiRegion
	}
	if in.TerminationProtection != nil {
		d.TerminationProtection = *in.TerminationProtection
	}
	d.BillingMode, d.RetentionDays = mode, days
	return nil
}

// Get returns a store of the caller's account and region by ARN or ID
// (GetEventDataStore). A store pending deletion is returned.
func (s *Service) Get(ctx context.Context, c Caller, ref *string) (*DataStore, error) {
	id, err := s.parseRef(c, ref)
	if err != nil {
		return nil, err
	}
	d, err := s.load(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && !s.mine(c, d) {
		return nil, notFound(deref(ref))
	}
	return d, err
}

// mine reports whether c sees d: its account's store of its region, not
// gone.
func (s *Service) mine(c Caller, d *DataStore) bool {
	return d.Account == c.Account && d.Region == c.Region && !d.gone(s.now())
}

func notFound(ref string) error {
	return awsproto.Errorf(awsproto.EventDataStoreNotFoundException, "The event data store %s does not exist in this account and region.", ref)
}

// parseRef reads an event data store ARN or ID. An ARN of another account
// or region names no store the caller has.
func (s *Service) parseRef(c Caller, ref *string) (string, error) {
	if ref == nil || *ref == "" {
		return "", awsproto.Errorf(awsproto.InvalidParameterException, "EventDataStore is required: give the event data store's ARN or ID.")
	}
	r := *ref
	if idRE.MatchString(r) {
		return r, nil
	}
	m := arnRE.FindStringSubmatch(r)
	if m == nil || !idRE.MatchString(m[4]) {
		return "", awsproto.Errorf(awsproto.EventDataStoreARNInvalidException,
			"%q is not an event data store ARN (arn:%s:cloudtrail:<region>:<account>:eventdatastore/<id>) or ID.", r, s.opts.Partition)
	}
	if m[1] != s.opts.Partition || m[2] != c.Region || m[3] != c.Account {
		return "", notFound(r)
	}
	return m[4], nil
}

// List returns the caller's stores of its region, oldest first
// (ListEventDataStores), from offset, at most max.
func (s *Service) List(ctx context.Context, c Caller) ([]*DataStore, error) {
	all, err := s.all(ctx)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, d := range all {
		if s.mine(c, d) {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b *DataStore) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Update changes a store (UpdateEventDataStore).
func (s *Service) Update(ctx context.Context, c Caller, in UpdateInput) (*DataStore, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.Get(ctx, c, in.EventDataStore)
	if err != nil {
		return nil, err
	}
	if d.Status == StatusPendingDeletion {
		return nil, inactive(d)
	}
	if in.Name != nil {
		if !nameRE.MatchString(*in.Name) {
			return nil, awsproto.Errorf(awsproto.InvalidParameterException,
				"Name must be 3 to 128 characters of letters, digits, periods, underscores and hyphens; got %q.", *in.Name)
		}
		d.Name = *in.Name
		all, err := s.all(ctx)
		if err != nil {
			return nil, err
		}
		if err := s.checkNameAndCount(all, d, false); err != nil {
			return nil, err
		}
	}
	if err := s.apply(c, d, settings{Selectors: in.AdvancedEventSelectors, MultiRegion: in.MultiRegionEnabled, Organization: in.OrganizationEnabled,
		Retention: in.RetentionPeriod, TerminationProtection: in.TerminationProtectionEnabled, KmsKeyID: in.KmsKeyId, BillingMode: in.BillingMode}, false); err != nil {
		return nil, err
	}
	d.Updated = s.now()
	if err := s.put(ctx, d); err != nil {
		return nil, err
	}
	s.filler.changed()
	return d, nil
}

func inactive(d *DataStore) error {
	return awsproto.Errorf(awsproto.InactiveEventDataStoreException, "The event data store %s is pending deletion; restore it first.", d.ARN)
}

// Delete starts a store's pending deletion (DeleteEventDataStore): it
// takes no more events and can be restored for PendingDeletion.
func (s *Service) Delete(ctx context.Context, c Caller, ref *string) (*DataStore, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.Get(ctx, c, ref)
	if err != nil {
		return nil, err
	}
	switch {
	case d.Status == StatusPendingDeletion:
		return nil, inactive(d)
	case d.TerminationProtection:
		return nil, awsproto.Errorf(awsproto.EventDataStoreTerminationProtectedException,
			"The event data store %s has termination protection on; turn it off with UpdateEventDataStore --no-termination-protection-enabled first.", d.ARN)
	}
	if err := s.closeIngest(ctx, d); err != nil {
		return nil, err
	}
	d.Resume, d.Status, d.Deleted = d.Status, StatusPendingDeletion, s.now()
	d.Updated = d.Deleted
	return d, s.put(ctx, d)
}

// Restore brings back a store pending deletion (RestoreEventDataStore).
func (s *Service) Restore(ctx context.Context, c Caller, ref *string) (*DataStore, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.Get(ctx, c, ref)
	if err != nil {
		return nil, err
	}
	if d.Status != StatusPendingDeletion {
		return nil, awsproto.Errorf(awsproto.InvalidEventDataStoreStatusException,
			"The event data store %s is %s; only a store pending deletion can be restored.", d.ARN, d.Status)
	}
	all, err := s.all(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.checkNameAndCount(all, d, true); err != nil {
		return nil, err
	}
	d.Status, d.Resume, d.Deleted = d.Resume, "", time.Time{}
	if d.Status == "" {
		d.Status = StatusEnabled
	}
	if d.Status == StatusEnabled {
		if err := s.openIngest(ctx, d); err != nil {
			return nil, err
		}
	}
	d.Updated = s.now()
	if err := s.put(ctx, d); err != nil {
		return nil, err
	}
	s.filler.changed()
	return d, nil
}

// SetIngestion starts or stops a store's ingestion
// (Start/StopEventDataStoreIngestion).
func (s *Service) SetIngestion(ctx context.Context, c Caller, ref *string, on bool) (*DataStore, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.Get(ctx, c, ref)
	if err != nil {
		return nil, err
	}
	want, from := StatusEnabled, StatusStopped
	if !on {
		want, from = StatusStopped, StatusEnabled
	}
	if d.Status != from {
		return nil, awsproto.Errorf(awsproto.InvalidEventDataStoreStatusException,
			"The event data store %s is %s; ingestion can be %s only when it is %s.", d.ARN, d.Status, map[bool]string{true: "started", false: "stopped"}[on], from)
	}
	if on {
		err = s.openIngest(ctx, d)
	} else {
		err = s.closeIngest(ctx, d)
	}
	if err != nil {
		return nil, err
	}
	d.Status, d.Updated = want, s.now()
	if err := s.put(ctx, d); err != nil {
		return nil, err
	}
	s.filler.changed()
	return d, nil
}

// openIngest starts a new ingest range at the log's end.
func (s *Service) openIngest(ctx context.Context, d *DataStore) error {
	last, err := s.lastSeq(ctx)
	if err != nil {
		return err
	}
	d.Ingest = append(d.Ingest, SeqRange{From: last})
	return nil
}

// closeIngest ends the open ingest range at the log's end.
func (s *Service) closeIngest(ctx context.Context, d *DataStore) error {
	if n := len(d.Ingest); n > 0 && d.Ingest[n-1].To == 0 {
		last, err := s.lastSeq(ctx)
		if err != nil {
			return err
		}
		d.Ingest[n-1].To = max(last, d.Ingest[n-1].From)
	}
	return nil
}

func (s *Service) lastSeq(ctx context.Context) (int64, error) {
	st, err := s.st.Stats(ctx)
	if err != nil {
		return 0, fmt.Errorf("lake: the log's end: %w", err)
	}
	return st.LastSeq, nil
}

// all returns every stored store, tombstones included.
func (s *Service) all(ctx context.Context) ([]*DataStore, error) {
	docs, err := s.st.ListState(ctx, storePrefix)
	if err != nil {
		return nil, err
	}
	out := make([]*DataStore, 0, len(docs))
	for _, doc := range docs {
		d := new(DataStore)
		if err := json.Unmarshal(doc.Doc, d); err != nil {
			return nil, fmt.Errorf("lake: event data store %s: %w", doc.Key, err)
		}
		d.version = doc.Version
		out = append(out, d)
	}
	return out, nil
}

func (s *Service) load(ctx context.Context, id string) (*DataStore, error) {
	doc, err := s.st.GetState(ctx, storePrefix+id)
	if err != nil {
		return nil, err
	}
	d := new(DataStore)
	if err := json.Unmarshal(doc.Doc, d); err != nil {
		return nil, fmt.Errorf("lake: event data store %s: %w", id, err)
	}
	d.version = doc.Version
	return d, nil
}

// put saves d if it is still at the version it was read at.
func (s *Service) put(ctx context.Context, d *DataStore) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	v, err := s.st.PutState(ctx, storePrefix+d.ID, b, d.version)
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrNotFound) {
		return awsproto.Errorf(awsproto.ConflictException, "The event data store %s changed while the request ran; retry.", d.ARN)
	}
	if err != nil {
		return err
	}
	d.version = v
	return nil
}

func deref[T any](p *T) T {
	var z T
	if p == nil {
		return z
	}
	return *p
}
