package loadgen

// Baselines measured with the same load as "cairn-bench ingest": the limit
// (appending the same bytes to a file, fsync'd per batch) and what a team
// would build instead (PostgreSQL, in baseline_postgres.go). The control
// plane baseline is in baseline_controlplane.go.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// checkLoad checks the load parameters shared with IngestConfig.
func checkLoad(clients, batch int, total int64, d time.Duration, g GenOptions) error {
	switch {
	case clients < 1 || clients > 4096:
		return errors.New("clients must be 1 to 4096")
	case batch < 1:
		return errors.New("batch must be at least 1")
	case total < 0:
		return errors.New("total must not be negative")
	case total == 0 && d <= 0:
		return errors.New("give a duration or a total")
	case g.RecordBytes < 0 || g.RecordBytes > 256<<10:
		return errors.New("record bytes must be 0 to 262144 (CloudTrail's 256 KB event limit)")
	case g.Spread < 0:
		return errors.New("spread must not be negative")
	}
	return nil
}

// prepared is the pre-built batch templates of a run, as "cairn-bench
// ingest" builds them, and their description for the report.
type prepared struct {
	templates      []*Template
	recordsBuilt   int
	meanRecordSize int
	prepareTime    time.Duration
}

func prepareTemplates(clients, batch int, total int64, g GenOptions) prepared {
	t0 := time.Now()
	ts := prepare(&IngestConfig{Clients: clients, Batch: batch, Total: total, Gen: g})
	p := prepared{templates: ts, prepareTime: time.Since(t0)}
	var bytesBuilt int
	for _, t := range ts {
		p.recordsBuilt += t.Len()
		bytesBuilt += t.Size(t.Len()) - len(`{"Records":[]}`) - (t.Len() - 1)
	}
	p.meanRecordSize = bytesBuilt / max(p.recordsBuilt, 1)
	return p
}

// FileBaselineConfig says how to run the durable-append baseline: the
// batch bodies "cairn-bench ingest" sends, appended to one file by
// concurrent clients, each batch fsync'd before the client goes on.
type FileBaselineConfig struct {
	// Dir is the directory the file is created in (on the disk to measure).
	Dir string
	// Clients is how many clients append concurrently, each through its own
	// O_APPEND file descriptor of the one file, without a lock.
	Clients int
	// Batch is the number of records per batch body.
	Batch int
	// Duration bounds the run when Total is 0: no batch starts after it.
	Duration time.Duration
	// Total, when positive, is exactly how many events to write.
	Total int64
	// Gen says what the records look like (as for ingest).
	Gen GenOptions
	// Keep leaves the file in Dir; otherwise it is removed at the end.
	Keep bool
	// Progress, if set, receives a progress line every ProgressEvery.
	Progress      io.Writer
	ProgressEvery time.Duration
}

// FileBaselineParams are the parameters of a file baseline run, as reported.
type FileBaselineParams struct {
	Dir         string       `json:"dir"`
	File        string       `json:"file"`
	Clients     int          `json:"clients"`
	Batch       int          `json:"batch"`
	Duration    jsonDuration `json:"duration,omitempty"`
	Total       int64        `json:"total,omitempty"`
	RecordBytes int          `json:"record_bytes"`
	Spread      jsonDuration `json:"spread,omitempty"`
	Keep        bool         `json:"keep"`
	// Durability says how each batch was made durable.
	Durability string `json:"durability"`
}

// FileBaselineReport is the outcome of a file baseline run. Its shape
// follows IngestReport.
type FileBaselineReport struct {
	Command string             `json:"command"`
	Env     Env                `json:"env"`
	Params  FileBaselineParams `json:"params"`
	// Preparation, before the timed phase (as for ingest).
	Templates      int          `json:"templates"`
	RecordsBuilt   int          `json:"records_prebuilt"`
	MeanRecordSize int          `json:"mean_record_bytes"`
	PrepareTime    jsonDuration `json:"prepare_time"`
	// The timed phase: from the first write to the last fsync.
	Phase
	// Batches written and fsync'd, and their events: durable, like an
	// acknowledged ingest batch.
	Batches        int64 `json:"batches"`
	BatchesDurable int64 `json:"batches_durable"`
	EventsDurable  int64 `json:"events_durable"`
	// BytesWritten is every byte the writes appended (a newline ends each
	// batch body); FileSize the file's size at the end.
	BytesWritten int64 `json:"bytes_written"`
	FileSize     int64 `json:"file_size"`
	FileRemoved  bool  `json:"file_removed"`
	// Rates over Elapsed, of durable batches.
	EventsPerSec  float64 `json:"events_per_second"`
	BatchesPerSec float64 `json:"batches_per_second"`
	MiBPerSec     float64 `json:"mib_per_second"`
	// Latency of durable batches: the write and the fsync; and each part.
	Latency      Latency      `json:"latency"`
	WriteLatency Latency      `json:"write_latency"`
	SyncLatency  Latency      `json:"fsync_latency"`
	Errors       []ErrorCount `json:"errors"`
}

// OK reports whether every batch written was made durable.
func (r *FileBaselineReport) OK() bool {
	return r.Batches == r.BatchesDurable && len(r.Errors) == 0 && r.Aborted == "" &&
		(r.Params.Total == 0 || r.EventsDurable == r.Params.Total)
}

// RunFileBaseline appends batch bodies to a new file in c.Dir as c says.
// Canceling ctx stops new batches. The error is for a run that could not
// start; failures during the run are in the report.
func RunFileBaseline(ctx context.Context, c FileBaselineConfig) (*FileBaselineReport, error) {
	if c.Dir == "" {
		return nil, errors.New("no directory")
	}
	if err := checkLoad(c.Clients, c.Batch, c.Total, c.Duration, c.Gen); err != nil {
		return nil, err
	}
	if len(c.Gen.Regions) == 0 {
		c.Gen.Regions = []string{"us-east-1"}
	}
	dir, err := filepath.Abs(c.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, fmt.Sprintf("cairn-baseline-%08x.jsonl", rand.Uint32()))
	// Created (and the directory entry made durable) before the timed phase.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	files := make([]*os.File, c.Clients)
	closeAll := func() {
		for _, f := range files {
			if f != nil {
				f.Close()
			}
		}
	}
	for i := range files {
		if files[i], err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0); err != nil {
			closeAll()
			os.Remove(path)
			return nil, err
		}
	}

	rep := &FileBaselineReport{Command: "baseline-file", Params: FileBaselineParams{
		Dir: dir, File: path, Clients: c.Clients, Batch: c.Batch, Total: c.Total,
		RecordBytes: c.Gen.RecordBytes, Spread: jsonDuration(c.Gen.Spread), Keep: c.Keep,
		Durability: "write(2) on an O_APPEND descriptor per client, then fsync(2), per batch; no lock, no group commit",
	}}
	if c.Total == 0 {
		rep.Params.Duration = jsonDuration(c.Duration)
	}
	p := prepareTemplates(c.Clients, c.Batch, c.Total, c.Gen)
	rep.Templates, rep.RecordsBuilt, rep.MeanRecordSize, rep.PrepareTime = len(p.templates), p.recordsBuilt, p.meanRecordSize, jsonDuration(p.prepareTime)

	var errs errorTally
	run := rand.Uint64()
	res := load[fileSample]{
		Workers: c.Clients, Batch: c.Batch, Total: c.Total, Duration: c.Duration,
		Worker: func(client int) func(int64, int) (fileSample, outcome) {
			a := &fileAppender{f: files[client], templates: p.templates, clients: c.Clients, client: client,
				ids: NewIDs(run, client), r: rand.New(rand.NewPCG(run, uint64(client))), errs: &errs}
			return a.append
		},
		Progress: c.Progress, ProgressEvery: c.ProgressEvery, ProgressWhat: "events durable",
		Count:  func(s fileSample) int64 { return int64(s.events) },
		Errors: &errs,
	}.run(ctx)
	closeAll()

	rep.Env, rep.Phase = res.Env, res.Phase
	if res.Stopped {
		rep.Aborted = "stopped at the first failed write or fsync"
	}
	rep.Batches = int64(len(res.OK) + len(res.Failed))
	rep.BatchesDurable = int64(len(res.OK))
	rep.EventsDurable = sum(res.OK, func(s fileSample) int64 { return int64(s.events) })
	rep.BytesWritten = sum(res.OK, fileSample.bytes) + sum(res.Failed, fileSample.bytes)
	if fi, err := os.Stat(path); err == nil {
		rep.FileSize = fi.Size()
	} else {
		errs.add("stat: "+err.Error(), 1)
	}
	if !c.Keep {
		if err := os.Remove(path); err != nil {
			errs.add("removing the file: "+err.Error(), 1)
		} else {
			rep.FileRemoved = true
		}
	}
	rep.EventsPerSec = rate(rep.EventsDurable, rep.Elapsed)
	rep.BatchesPerSec = rate(rep.BatchesDurable, rep.Elapsed)
	rep.MiBPerSec = rate(rep.BytesWritten, rep.Elapsed) / (1 << 20)
	rep.Latency = latencies(res.OK, func(s fileSample) time.Duration { return s.write + s.sync })
	rep.WriteLatency = latencies(res.OK, func(s fileSample) time.Duration { return s.write })
	rep.SyncLatency = latencies(res.OK, func(s fileSample) time.Duration { return s.sync })
	rep.Errors = errs.list()
	return rep, nil
}

// fileSample is what one batch of the file baseline did: its events, the
// bytes its write appended, and how long the write and the fsync took.
type fileSample struct {
	events, written int
	write, sync     time.Duration
}

func (s fileSample) bytes() int64 { return int64(s.written) }

// fileAppender is one client of the file baseline, with its own O_APPEND
// descriptor of the file.
type fileAppender struct {
	f               *os.File
	templates       []*Template
	clients, client int
	k               int
	ids             *IDs
	r               *rand.Rand
	buf             []byte
	errs            *errorTally
}

// append writes the client's next batch body of n records with one
// write(2), then fsyncs the file. A failed write or fsync stops the run:
// a full or failing disk is no point going on with.
func (a *fileAppender) append(_ int64, n int) (fileSample, outcome) {
	t := a.templates[(a.client+a.k*a.clients)%len(a.templates)]
	a.k++
	a.buf = t.Fill(a.buf, n, a.ids, time.Now(), a.r.Int64())
	a.buf = append(a.buf, '\n')
	s := fileSample{events: n}
	t0 := time.Now()
	w, err := a.f.Write(a.buf)
	s.written = w
	if err != nil {
		a.errs.add("write: "+err.Error(), 1)
		return s, unitFailed | unitStop
	}
	t1 := time.Now()
	s.write = t1.Sub(t0)
	if err := a.f.Sync(); err != nil {
		a.errs.add("fsync: "+err.Error(), 1)
		return s, unitFailed | unitStop
	}
	s.sync = time.Since(t1)
	return s, unitOK
}

// syncDir makes dir's entries durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("fsync of %s: %w", dir, err)
	}
	return nil
}

// WriteText prints the report for people.
func (r *FileBaselineReport) WriteText(w io.Writer) {
	p := r.Params
	fmt.Fprintf(w, "cairn-bench baseline-file\n")
	r.Env.writeText(w)
	fmt.Fprintf(w, "  file        %s\n", p.File)
	mode := "duration " + time.Duration(p.Duration).String()
	if p.Total > 0 {
		mode = "total " + group(p.Total) + " events"
	}
	fmt.Fprintf(w, "  load        %d clients, batches of %d, %s, records padded to %d bytes (mean %d)\n",
		p.Clients, p.Batch, mode, p.RecordBytes, r.MeanRecordSize)
	fmt.Fprintf(w, "  durability  %s\n", p.Durability)
	fmt.Fprintf(w, "  prepared    %s records in %d batch templates in %s (not timed)\n",
		group(int64(r.RecordsBuilt)), r.Templates, time.Duration(r.PrepareTime).Round(time.Millisecond))
	fmt.Fprintln(w)
	status := ""
	if r.Interrupted {
		status = " (interrupted)"
	}
	if r.Aborted != "" {
		status = " (" + r.Aborted + ")"
	}
	fmt.Fprintf(w, "  elapsed     %.3fs%s\n", r.Elapsed.Seconds(), status)
	fmt.Fprintf(w, "  events      %s durable (written and fsync'd)\n", group(r.EventsDurable))
	fmt.Fprintf(w, "  throughput  %s events/s durable, %s batches/s, %.1f MiB/s appended\n",
		groupf(r.EventsPerSec), groupf(r.BatchesPerSec), r.MiBPerSec)
	kept := "removed"
	if !r.FileRemoved {
		kept = "kept"
	}
	fmt.Fprintf(w, "  batches     %s written, %s fsync'd; %s bytes appended, file %s bytes (%s)\n",
		group(r.Batches), group(r.BatchesDurable), group(r.BytesWritten), group(r.FileSize), kept)
	latencyLine(w, "latency (write+fsync)", r.Latency)
	latencyLine(w, "  write", r.WriteLatency)
	latencyLine(w, "  fsync", r.SyncLatency)
	r.ClientCPU.writeText(w, r.Env.NumCPU)
	writeErrors(w, r.Errors)
	if r.Params.Total > 0 && r.EventsDurable != r.Params.Total {
		fmt.Fprintf(w, "  INCOMPLETE  %s of the %s events asked for were made durable\n", group(r.EventsDurable), group(r.Params.Total))
	}
}
