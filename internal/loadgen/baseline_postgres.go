package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// PostgresTable is the table the PostgreSQL baseline creates and loads.
const PostgresTable = "cairn_baseline_events"

// postgresSchema is what a team would build instead of Cairn: the records
// in a JSONB column, the lookup columns beside them, an index on time and
// one on each lookup column with time.
var postgresSchema = []string{
	`CREATE TABLE ` + PostgresTable + ` (
	id            bigserial PRIMARY KEY,
	event_time    timestamptz NOT NULL,
	event_name    text NOT NULL,
	event_source  text NOT NULL,
	username      text,
	access_key    text,
	read_only     bool,
	resource_name text,
	record        jsonb NOT NULL
)`,
	`CREATE INDEX ` + PostgresTable + `_time ON ` + PostgresTable + ` (event_time DESC)`,
	`CREATE INDEX ` + PostgresTable + `_event_name ON ` + PostgresTable + ` (event_name, event_time DESC)`,
	`CREATE INDEX ` + PostgresTable + `_event_source ON ` + PostgresTable + ` (event_source, event_time DESC)`,
	`CREATE INDEX ` + PostgresTable + `_username ON ` + PostgresTable + ` (username, event_time DESC)`,
	`CREATE INDEX ` + PostgresTable + `_access_key ON ` + PostgresTable + ` (access_key, event_time DESC)`,
	`CREATE INDEX ` + PostgresTable + `_read_only ON ` + PostgresTable + ` (read_only, event_time DESC)`,
	`CREATE INDEX ` + PostgresTable + `_resource_name ON ` + PostgresTable + ` (resource_name, event_time DESC)`,
}

var postgresColumns = []string{"event_time", "event_name", "event_source", "username", "access_key", "read_only", "resource_name", "record"}

// PostgresBaselineConfig says how to run the PostgreSQL baseline.
type PostgresBaselineConfig struct {
	// DSN is a libpq connection string or URL.
	DSN string
	// Clients is how many connections load concurrently (one COPY each in
	// flight) and then look up concurrently.
	Clients int
	// Batch is the number of records per COPY.
	Batch int
	// Duration bounds the load when Total is 0: no batch starts after it.
	Duration time.Duration
	// Total, when positive, is exactly how many events to load.
	Total int64
	// Gen says what the records look like (as for ingest).
	Gen GenOptions
	// Lookups is how many indexed SELECTs to run after the load.
	Lookups int
	// Keep leaves the table; otherwise it is dropped at the end.
	Keep bool
	// Replace drops a table of the name left by an earlier run first;
	// otherwise such a table stops the run.
	Replace bool
	// Timeout bounds each statement; 0 means 2 minutes.
	Timeout time.Duration
	// Progress, if set, receives a progress line every ProgressEvery.
	Progress      io.Writer
	ProgressEvery time.Duration
}

// PostgresBaselineParams are the parameters of a run, as reported.
type PostgresBaselineParams struct {
	// Server names the server, without the password.
	Server      string       `json:"server"`
	Table       string       `json:"table"`
	Clients     int          `json:"clients"`
	Batch       int          `json:"batch"`
	Duration    jsonDuration `json:"duration,omitempty"`
	Total       int64        `json:"total,omitempty"`
	RecordBytes int          `json:"record_bytes"`
	Spread      jsonDuration `json:"spread,omitempty"`
	Lookups     int          `json:"lookups"`
	Keep        bool         `json:"keep"`
	Timeout     jsonDuration `json:"timeout"`
}

// Setting is a server setting as SHOW gives it.
type Setting struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// PostgresLoad is the load phase of the PostgreSQL baseline.
type PostgresLoad struct {
	Phase
	// Batches sent as one COPY each, and those committed; events sent and
	// committed; the bytes of the records sent (as JSON text).
	Batches         int64 `json:"batches"`
	BatchesOK       int64 `json:"batches_committed"`
	EventsSent      int64 `json:"events_sent"`
	EventsCommitted int64 `json:"events_committed"`
	RecordBytes     int64 `json:"record_bytes_sent"`
	// Rates over Elapsed, of committed batches.
	EventsPerSec  float64 `json:"events_per_second"`
	BatchesPerSec float64 `json:"batches_per_second"`
	MiBPerSec     float64 `json:"mib_per_second"`
	// Latency of committed batches: parsing the records for the columns and
	// the COPY (an implicit transaction: committed when it returns); and
	// the COPY alone.
	Latency     Latency `json:"latency"`
	CopyLatency Latency `json:"copy_latency"`
}

// PostgresLookup is the lookup phase of the PostgreSQL baseline.
type PostgresLookup struct {
	// Phase.Aborted stays empty: a lookup phase given up shows in Failed.
	Phase
	Requests      int     `json:"requests"`
	Failed        int     `json:"failed"`
	LookupsPerSec float64 `json:"lookups_per_second"`
	// Latency of successful SELECTs: sending, executing, reading every row.
	Latency Latency      `json:"latency"`
	Queries []QueryStats `json:"queries"`
}

// PostgresBaselineReport is the outcome of a PostgreSQL baseline run.
type PostgresBaselineReport struct {
	Command  string                 `json:"command"`
	Env      Env                    `json:"env"`
	Params   PostgresBaselineParams `json:"params"`
	Settings []Setting              `json:"server_settings"`
	Schema   []string               `json:"schema"`
	// Preparation, before the timed phase (as for ingest).
	Templates      int          `json:"templates"`
	RecordsBuilt   int          `json:"records_prebuilt"`
	MeanRecordSize int          `json:"mean_record_bytes"`
	PrepareTime    jsonDuration `json:"prepare_time"`
	Load           PostgresLoad `json:"load"`
	// After the load, not timed: the table's rows and size (with indexes
	// and TOAST), and the ANALYZE run before the lookups.
	Rows         int64           `json:"rows"`
	TableBytes   int64           `json:"table_bytes"`
	AnalyzeTime  jsonDuration    `json:"analyze_time"`
	Lookup       *PostgresLookup `json:"lookup,omitempty"`
	TableDropped bool            `json:"table_dropped"`
	Errors       []ErrorCount    `json:"errors"`
}

// OK reports whether every batch was committed and every lookup answered.
func (r *PostgresBaselineReport) OK() bool {
	return r.Load.Batches == r.Load.BatchesOK && r.Load.Aborted == "" && len(r.Errors) == 0 &&
		(r.Params.Total == 0 || r.Load.EventsCommitted == r.Params.Total) &&
		(r.Params.Lookups == 0 || (r.Lookup != nil && r.Lookup.Failed == 0 && r.Lookup.Requests == r.Params.Lookups))
}

// pgColumns are the lookup columns of a record.
type pgColumns struct {
	EventTime    string `json:"eventTime"`
	EventName    string `json:"eventName"`
	EventSource  string `json:"eventSource"`
	ReadOnly     bool   `json:"readOnly"`
	UserIdentity struct {
		UserName    string `json:"userName"`
		AccessKeyID string `json:"accessKeyId"`
	} `json:"userIdentity"`
	Resources []struct {
		ARN string `json:"ARN"`
	} `json:"resources"`
}

// recordBounds returns the start and end offsets of record i of a batch
// body built from t.
func (t *Template) recordBounds(i int) (int, int) {
	start := len(`{"Records":[`)
	if i > 0 {
		start = t.end[i-1] + 1 // after the comma
	}
	return start, t.end[i]
}

// pgRow parses a record for its row. The row's record value aliases rec.
func pgRow(rec []byte, row []any) ([]any, error) {
	var c pgColumns
	if err := json.Unmarshal(rec, &c); err != nil {
		return nil, err
	}
	at, err := time.Parse(time.RFC3339, c.EventTime)
	if err != nil {
		return nil, err
	}
	var resource any
	if len(c.Resources) > 0 {
		resource = c.Resources[0].ARN
	}
	return append(row[:0], at, c.EventName, c.EventSource, c.UserIdentity.UserName, c.UserIdentity.AccessKeyID,
		c.ReadOnly, resource, rec), nil
}

// pgQuery is one kind of lookup of the mix.
type pgQuery struct {
	name, sql string
	arg       func(r *rand.Rand) any // nil for no argument
}

func pgSelect(where string) string {
	s := "SELECT record FROM " + PostgresTable
	if where != "" {
		s += " WHERE " + where + " = $1"
	}
	return s + " ORDER BY event_time DESC LIMIT 50"
}

func pgQueries(arns []string) []pgQuery {
	names, sources, users, keys := universe.EventNames(), universe.EventSources(), universe.UserNames(), universe.AccessKeyIDs()
	str := func(values []string) func(r *rand.Rand) any {
		return func(r *rand.Rand) any { return oneOf(r, values) }
	}
	qs := []pgQuery{
		{"none", pgSelect(""), nil},
		{"event_name", pgSelect("event_name"), str(names)},
		{"event_source", pgSelect("event_source"), str(sources)},
		{"username", pgSelect("username"), str(users)},
		{"access_key", pgSelect("access_key"), str(keys)},
		{"read_only", pgSelect("read_only"), func(r *rand.Rand) any { return r.IntN(2) == 0 }},
	}
	if len(arns) > 0 {
		qs = append(qs, pgQuery{"resource_name", pgSelect("resource_name"), str(arns)})
	}
	return qs
}

// describeDSN names the server of a DSN without its password.
func describeDSN(dsn string) (string, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("host=%s port=%d dbname=%s user=%s", cfg.Host, cfg.Port, cfg.Database, cfg.User), nil
}

// pgErrorText is a PostgreSQL error's code and message, or the error.
func pgErrorText(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code + ": " + pe.Message
	}
	return err.Error()
}

// RunPostgresBaseline creates PostgresTable, loads it with COPY from
// concurrent connections as c says, runs indexed lookups and drops the
// table (unless c.Keep). Canceling ctx stops the load (and the lookups)
// early; the table is still dropped. The error is for a run that could not
// start; failures during the run are in the report.
func RunPostgresBaseline(ctx context.Context, c PostgresBaselineConfig) (*PostgresBaselineReport, error) {
	if c.DSN == "" {
		return nil, errors.New("no DSN")
	}
	if err := checkLoad(c.Clients, c.Batch, c.Total, c.Duration, c.Gen); err != nil {
		return nil, err
	}
	if c.Lookups < 0 {
		return nil, errors.New("lookups must not be negative")
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Minute
	}
	if len(c.Gen.Regions) == 0 {
		c.Gen.Regions = []string{"us-east-1"}
	}
	server, err := describeDSN(c.DSN)
	if err != nil {
		return nil, fmt.Errorf("DSN: %w", err)
	}
	rep := &PostgresBaselineReport{Command: "baseline-postgres", Schema: postgresSchema, Params: PostgresBaselineParams{
		Server: server, Table: PostgresTable, Clients: c.Clients, Batch: c.Batch, Total: c.Total,
		RecordBytes: c.Gen.RecordBytes, Spread: jsonDuration(c.Gen.Spread), Lookups: c.Lookups, Keep: c.Keep,
		Timeout: jsonDuration(c.Timeout),
	}}
	if c.Total == 0 {
		rep.Params.Duration = jsonDuration(c.Duration)
	}

	// Setup, not timed; it goes on through an interrupt, so that cleanup
	// knows what to undo.
	setup, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()
	conns := make([]*pgx.Conn, c.Clients)
	closeAll := func() {
		for _, cn := range conns {
			if cn != nil {
				cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				cn.Close(cctx)
				cancel()
			}
		}
	}
	defer closeAll()
	for i := range conns {
		if conns[i], err = pgx.Connect(setup, c.DSN); err != nil {
			return nil, fmt.Errorf("connecting to %s: %s", server, pgErrorText(err))
		}
	}
	admin := conns[0]
	for _, name := range []string{"server_version", "synchronous_commit", "fsync", "full_page_writes", "wal_level", "shared_buffers", "max_wal_size", "data_directory"} {
		var v string
		if err := admin.QueryRow(setup, "SHOW "+name).Scan(&v); err != nil {
			v = "(" + pgErrorText(err) + ")" // data_directory needs privileges
		}
		rep.Settings = append(rep.Settings, Setting{name, v})
	}
	if c.Replace {
		if _, err := admin.Exec(setup, "DROP TABLE IF EXISTS "+PostgresTable); err != nil {
			return nil, fmt.Errorf("dropping the table of an earlier run: %s", pgErrorText(err))
		}
	}
	if _, err := admin.Exec(setup, postgresSchema[0]); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "42P07" {
			return nil, fmt.Errorf("table %s exists (left by an earlier run with --keep?): drop it, or replace it with --replace", PostgresTable)
		}
		return nil, fmt.Errorf("creating the table: %s", pgErrorText(err))
	}
	var errs errorTally
	drop := func() {
		if c.Keep {
			return
		}
		dctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
		defer cancel()
		conn := admin
		if conn.IsClosed() { // broken during the run: drop through a new one
			var err error
			if conn, err = pgx.Connect(dctx, c.DSN); err != nil {
				errs.add("dropping the table: "+pgErrorText(err), 1)
				return
			}
			defer conn.Close(context.Background())
		}
		if _, err := conn.Exec(dctx, "DROP TABLE "+PostgresTable); err != nil {
			errs.add("dropping the table: "+pgErrorText(err), 1)
			return
		}
		rep.TableDropped = true
	}
	if _, err := admin.Exec(setup, strings.Join(postgresSchema[1:], ";\n")); err != nil {
		err = fmt.Errorf("creating the indexes: %s", pgErrorText(err))
		drop()
		return nil, err
	}

	p := prepareTemplates(c.Clients, c.Batch, c.Total, c.Gen)
	rep.Templates, rep.RecordsBuilt, rep.MeanRecordSize, rep.PrepareTime = len(p.templates), p.recordsBuilt, p.meanRecordSize, jsonDuration(p.prepareTime)
	// The resource ARNs the records name, to look them up (not timed).
	var arns []string
	seenARN := map[string]bool{}
	for _, t := range p.templates[:min(len(p.templates), 2)] {
		for i := range t.Len() {
			s, e := t.recordBounds(i)
			var cols pgColumns
			if err := json.Unmarshal(t.body[s:e], &cols); err != nil {
				drop()
				return nil, fmt.Errorf("a generated record does not parse: %v", err)
			}
			for _, r := range cols.Resources {
				if !seenARN[r.ARN] {
					seenARN[r.ARN] = true
					arns = append(arns, r.ARN)
				}
			}
		}
	}

	rep.Env = currentEnv(time.Now())
	rep.Load = runPostgresLoad(ctx, &c, conns, p.templates, &errs)
	if rep.Load.Aborted != "" || rep.Load.BatchesOK == 0 {
		drop()
		rep.Errors = errs.list()
		return rep, nil
	}

	// Not timed: what is in the table, and fresh planner statistics.
	post, cancel := context.WithTimeout(context.Background(), 2*c.Timeout)
	defer cancel()
	if err := admin.QueryRow(post, "SELECT count(*), pg_total_relation_size('"+PostgresTable+"') FROM "+PostgresTable).Scan(&rep.Rows, &rep.TableBytes); err != nil {
		errs.add("counting rows: "+pgErrorText(err), 1)
	} else if rep.Rows != rep.Load.EventsCommitted {
		errs.add(fmt.Sprintf("the table holds %d rows, but %d events were committed", rep.Rows, rep.Load.EventsCommitted), 1)
	}
	t0 := time.Now()
	if _, err := admin.Exec(post, "ANALYZE "+PostgresTable); err != nil {
		errs.add("ANALYZE: "+pgErrorText(err), 1)
	}
	rep.AnalyzeTime = jsonDuration(time.Since(t0))

	if c.Lookups > 0 && ctx.Err() == nil {
		rep.Lookup = runPostgresLookups(ctx, &c, conns, pgQueries(arns), &errs)
	}
	drop()
	rep.Errors = errs.list()
	return rep, nil
}

func runPostgresLoad(ctx context.Context, c *PostgresBaselineConfig, conns []*pgx.Conn, templates []*Template, errs *errorTally) PostgresLoad {
	run := rand.Uint64()
	res := load[pgBatch]{
		Workers: c.Clients, Batch: c.Batch, Total: c.Total, Duration: c.Duration,
		Worker: func(client int) func(int64, int) (pgBatch, outcome) {
			l := &pgLoader{c: c, conn: conns[client], templates: templates, client: client,
				ids: NewIDs(run, client), r: rand.New(rand.NewPCG(run, uint64(client))), errs: errs}
			return l.copy
		},
		Progress: c.Progress, ProgressEvery: c.ProgressEvery, ProgressWhat: "events committed",
		Count:  func(b pgBatch) int64 { return b.committed },
		Errors: errs,
	}.run(ctx)
	l := PostgresLoad{Phase: res.Phase}
	l.Batches, l.BatchesOK = int64(len(res.OK)+len(res.Failed)), int64(len(res.OK))
	if res.Stopped || res.GaveUp {
		if l.BatchesOK == 0 {
			l.Aborted = fmt.Sprintf("stopped after %d failed batches, with none committed", l.Batches)
		} else {
			l.Aborted = "stopped at a record that does not parse"
		}
	}
	l.EventsSent = sum(res.OK, pgBatch.eventCount) + sum(res.Failed, pgBatch.eventCount)
	l.EventsCommitted = sum(res.OK, func(b pgBatch) int64 { return b.committed })
	l.RecordBytes = sum(res.OK, pgBatch.recordBytes) + sum(res.Failed, pgBatch.recordBytes)
	l.EventsPerSec = rate(l.EventsCommitted, l.Elapsed)
	l.BatchesPerSec = rate(l.BatchesOK, l.Elapsed)
	l.MiBPerSec = rate(l.RecordBytes, l.Elapsed) / (1 << 20)
	l.Latency = latencies(res.OK, func(b pgBatch) time.Duration { return b.lat })
	l.CopyLatency = latencies(res.OK, func(b pgBatch) time.Duration { return b.copy })
	return l
}

// pgBatch is what one batch of the PostgreSQL load did: its events, the
// bytes of its records, the rows COPY committed, and the latency of
// parse+COPY and of the COPY alone.
type pgBatch struct {
	events, bytes int
	committed     int64
	lat, copy     time.Duration
}

func (b pgBatch) eventCount() int64  { return int64(b.events) }
func (b pgBatch) recordBytes() int64 { return int64(b.bytes) }

// pgLoader is one connection of the PostgreSQL load.
type pgLoader struct {
	c         *PostgresBaselineConfig
	conn      *pgx.Conn
	templates []*Template
	client, k int
	ids       *IDs
	r         *rand.Rand
	buf       []byte
	rows      [][]any
	errs      *errorTally
}

// copy fills the loader's next template with n fresh records, parses each
// for its columns, as an ingest service in front of the table would, and
// loads them with one COPY. A record that does not parse stops the run; a
// broken connection ends this loader.
func (l *pgLoader) copy(_ int64, n int) (pgBatch, outcome) {
	t := l.templates[(l.client+l.k*l.c.Clients)%len(l.templates)]
	l.k++
	l.buf = t.Fill(l.buf, n, l.ids, time.Now(), l.r.Int64())
	b := pgBatch{events: n}
	t0 := time.Now()
	for len(l.rows) < n {
		l.rows = append(l.rows, make([]any, 0, len(postgresColumns)))
	}
	var recBytes int
	for i := range n {
		s, e := t.recordBounds(i)
		row, err := pgRow(l.buf[s:e], l.rows[i])
		if err != nil {
			l.errs.add("parsing a record: "+err.Error(), 1)
			return b, unitFailed | unitStop
		}
		l.rows[i] = row
		recBytes += e - s
	}
	b.bytes = recBytes
	t1 := time.Now()
	cctx, cancel := context.WithTimeout(context.Background(), l.c.Timeout)
	got, err := l.conn.CopyFrom(cctx, pgx.Identifier{PostgresTable}, postgresColumns, pgx.CopyFromRows(l.rows[:n]))
	cancel()
	t2 := time.Now()
	if err != nil {
		l.errs.add("COPY: "+pgErrorText(err), 1)
		if l.conn.IsClosed() {
			return b, unitFailed | unitQuit // this client's connection is gone
		}
		return b, unitFailed
	}
	if got != int64(n) {
		l.errs.add(fmt.Sprintf("COPY of %d rows copied %d", n, got), 1)
	}
	b.committed, b.lat, b.copy = got, t2.Sub(t0), t2.Sub(t1)
	return b, unitOK
}

func runPostgresLookups(ctx context.Context, c *PostgresBaselineConfig, conns []*pgx.Conn, qs []pgQuery, errs *errorTally) *PostgresLookup {
	seed := rand.Uint64()
	res := load[callSample]{
		Workers: c.Clients, Total: int64(c.Lookups),
		Worker: func(w int) func(int64, int) (callSample, outcome) {
			conn, r := conns[w], rand.New(rand.NewPCG(seed, uint64(w)))
			var rec []byte
			return func(i int64, _ int) (callSample, outcome) {
				k := int(i % int64(len(qs)))
				var args []any
				if qs[k].arg != nil {
					args = []any{qs[k].arg(r)}
				}
				qctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
				defer cancel()
				t0 := time.Now()
				n := 0
				rows, err := conn.Query(qctx, qs[k].sql, args...)
				if err == nil {
					for rows.Next() {
						if err = rows.Scan(&rec); err != nil {
							break
						}
						n++
					}
					rows.Close()
					if err == nil {
						err = rows.Err()
					}
				}
				s := callSample{query: k, lat: time.Since(t0), results: n}
				switch {
				case err != nil && conn.IsClosed():
					errs.add(qs[k].name+": "+pgErrorText(err), 1)
					return s, unitFailed | unitQuit
				case err != nil:
					errs.add(qs[k].name+": "+pgErrorText(err), 1)
					return s, unitFailed
				}
				return s, unitOK
			}
		},
	}.run(ctx)
	names := make([]string, len(qs))
	for k, q := range qs {
		names[k] = q.name
	}
	l := &PostgresLookup{Phase: res.Phase}
	l.Queries, l.Latency, l.Requests, l.Failed = summarizeMix(names, res.OK, res.Failed)
	l.LookupsPerSec = rate(int64(l.Requests-l.Failed), l.Elapsed)
	return l
}

// WriteText prints the report for people.
func (r *PostgresBaselineReport) WriteText(w io.Writer) {
	p := r.Params
	fmt.Fprintf(w, "cairn-bench baseline-postgres\n")
	r.Env.writeText(w)
	fmt.Fprintf(w, "  server      %s\n", p.Server)
	var settings []string
	for _, s := range r.Settings {
		settings = append(settings, s.Name+"="+s.Value)
	}
	fmt.Fprintf(w, "  settings    %s\n", strings.Join(settings, " "))
	fmt.Fprintf(w, "  table       %s: JSONB record, bigserial primary key, indexes on (event_time DESC) and (col, event_time DESC) for event_name, event_source, username, access_key, read_only, resource_name\n", p.Table)
	mode := "duration " + time.Duration(p.Duration).String()
	if p.Total > 0 {
		mode = "total " + group(p.Total) + " events"
	}
	spread := "last minute"
	if p.Spread > 0 {
		spread = "last " + time.Duration(p.Spread).String()
	}
	fmt.Fprintf(w, "  load        %d connections, one COPY of %d rows each in flight, %s, records padded to %d bytes (mean %d), eventTime over the %s\n",
		p.Clients, p.Batch, mode, p.RecordBytes, r.MeanRecordSize, spread)
	fmt.Fprintf(w, "  prepared    %s records in %d batch templates in %s (not timed)\n",
		group(int64(r.RecordsBuilt)), r.Templates, time.Duration(r.PrepareTime).Round(time.Millisecond))
	fmt.Fprintln(w)
	l := r.Load
	status := ""
	if l.Interrupted {
		status = " (interrupted)"
	}
	if l.Aborted != "" {
		status = " (" + l.Aborted + ")"
	}
	fmt.Fprintf(w, "  LOAD (parse each record for its columns, then COPY; each COPY commits)\n")
	fmt.Fprintf(w, "  elapsed     %.3fs%s\n", l.Elapsed.Seconds(), status)
	fmt.Fprintf(w, "  events      %s committed of %s sent\n", group(l.EventsCommitted), group(l.EventsSent))
	fmt.Fprintf(w, "  throughput  %s events/s committed, %s batches/s, %.1f MiB/s of records\n",
		groupf(l.EventsPerSec), groupf(l.BatchesPerSec), l.MiBPerSec)
	fmt.Fprintf(w, "  batches     %s sent, %s committed\n", group(l.Batches), group(l.BatchesOK))
	latencyLine(w, "latency (parse+COPY)", l.Latency)
	latencyLine(w, "  COPY", l.CopyLatency)
	l.ClientCPU.writeText(w, r.Env.NumCPU)
	fmt.Fprintf(w, "  table       %s rows, %s MiB with indexes; ANALYZE took %s (not timed)\n",
		group(r.Rows), groupf(float64(r.TableBytes)/(1<<20)), time.Duration(r.AnalyzeTime).Round(time.Millisecond))
	if k := r.Lookup; k != nil {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "  LOOKUP (SELECT record ... WHERE col = $1 ORDER BY event_time DESC LIMIT 50, %d connections)\n", p.Clients)
		status := ""
		if k.Interrupted {
			status = " (interrupted)"
		}
		fmt.Fprintf(w, "  elapsed     %.3fs%s\n", k.Elapsed.Seconds(), status)
		fmt.Fprintf(w, "  throughput  %s lookups/s (%s queries, %s failed)\n", groupf(k.LookupsPerSec), group(int64(k.Requests)), group(int64(k.Failed)))
		latencyLine(w, "latency (all)", k.Latency)
		k.ClientCPU.writeText(w, r.Env.NumCPU)
		fmt.Fprintf(w, "  %-22s %6s %6s %9s %7s  %-9s %-9s %-9s %-9s\n", "query", "calls", "errors", "rows/call", "empty", "p50", "p90", "p99", "max")
		for _, q := range k.Queries {
			per := 0.0
			if ok := q.Requests - q.Errors; ok > 0 {
				per = float64(q.Events) / float64(ok)
			}
			fmt.Fprintf(w, "  %-22s %6d %6d %9.1f %7d  %-9s %-9s %-9s %-9s\n", q.Query, q.Requests, q.Errors, per, q.Empty,
				fmtDur(q.Latency.P50), fmtDur(q.Latency.P90), fmtDur(q.Latency.P99), fmtDur(q.Latency.Max))
		}
	}
	fmt.Fprintln(w)
	table := "dropped"
	if !r.TableDropped {
		table = "kept"
		if !p.Keep {
			table = "NOT dropped"
		}
	}
	fmt.Fprintf(w, "  table       %s %s\n", p.Table, table)
	writeErrors(w, r.Errors)
	if p.Total > 0 && l.EventsCommitted != p.Total {
		fmt.Fprintf(w, "  INCOMPLETE  %s of the %s events asked for were committed\n", group(l.EventsCommitted), group(p.Total))
	}
	if p.Lookups > 0 && (r.Lookup == nil || r.Lookup.Requests != p.Lookups) {
		done := 0
		if r.Lookup != nil {
			done = r.Lookup.Requests
		}
		fmt.Fprintf(w, "  INCOMPLETE  %s of the %s lookups asked for were run\n", group(int64(done)), group(int64(p.Lookups)))
	}
}
