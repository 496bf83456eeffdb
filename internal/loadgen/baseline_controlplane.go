package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// DefaultControlPlaneBucket is the bucket the control plane run's trails
// name unless told otherwise.
const DefaultControlPlaneBucket = "cairn-bench-controlplane"

// ControlPlaneConfig says how to drive the trail API: CreateTrail and
// DeleteTrail cycles, then DescribeTrails calls. It works against Cairn
// and against any CloudTrail-compatible endpoint, e.g. moto_server.
type ControlPlaneConfig struct {
	// Endpoint is the base URL of the CloudTrail API.
	Endpoint        string
	AccessKeyID     string
	SecretAccessKey string
	// Region is where the trails are created; "" means us-east-1.
	Region string
	// Bucket is the S3BucketName of the trails; "" means
	// DefaultControlPlaneBucket. It must exist.
	Bucket string
	// CreateBucket creates Bucket first through the S3 API at Endpoint
	// (as moto_server serves S3 and CloudTrail on one port).
	CreateBucket bool
	// BucketDir, if set, is made (with its parents) first: the directory of
	// Bucket for a Cairn server on this machine, <data-dir>/buckets/NAME.
	BucketDir string
	// Cycles is how many CreateTrail+DeleteTrail cycles to run.
	Cycles int
	// Describes is how many DescribeTrails calls to make after the cycles.
	Describes int
	// Trails is how many trails exist while DescribeTrails is called
	// (created before, deleted after, not timed).
	Trails int
	// Concurrency is how many callers work at once.
	Concurrency int
	// Timeout bounds each call; 0 means 1 minute.
	Timeout time.Duration
}

// ControlPlaneParams are the parameters of a control plane run, as reported.
type ControlPlaneParams struct {
	Endpoint     string       `json:"endpoint"`
	Region       string       `json:"region"`
	Bucket       string       `json:"bucket"`
	CreateBucket bool         `json:"create_bucket"`
	BucketDir    string       `json:"bucket_dir,omitempty"`
	Cycles       int          `json:"cycles"`
	Describes    int          `json:"describes"`
	Trails       int          `json:"trails_during_describes"`
	Concurrency  int          `json:"concurrency"`
	Timeout      jsonDuration `json:"timeout"`
}

// OpStats are the results of one operation.
type OpStats struct {
	Calls  int `json:"calls"`
	Failed int `json:"failed"`
	// PerSec is successful calls per second of the phase they ran in.
	PerSec float64 `json:"per_second"`
	// Latency of successful calls as the aws-sdk-go-v2 client sees them.
	Latency Latency `json:"latency"`
}

// ControlPlaneReport is the outcome of a control plane run.
type ControlPlaneReport struct {
	Command string             `json:"command"`
	Env     Env                `json:"env"`
	Params  ControlPlaneParams `json:"params"`
	// Setup, not timed.
	BucketCreated bool   `json:"bucket_created"`
	NamePrefix    string `json:"trail_name_prefix"`
	// The cycle phase: each cycle is a CreateTrail of a new name and a
	// DeleteTrail of it. Cycles counts cycles completed (both calls
	// succeeded); Cycle has their latency and rate.
	CyclePhase  Phase   `json:"cycle_phase"`
	Cycle       OpStats `json:"cycle"`
	CreateTrail OpStats `json:"create_trail"`
	DeleteTrail OpStats `json:"delete_trail"`
	// The describe phase, with Trails standing trails.
	DescribePhase  Phase   `json:"describe_phase"`
	DescribeTrails OpStats `json:"describe_trails"`
	// TrailsPerAnswer is the mean number of trails a DescribeTrails answer
	// listed.
	TrailsPerAnswer float64 `json:"trails_per_answer"`
	// LeftBehind are trails the run created and could not delete.
	LeftBehind []string     `json:"left_behind,omitempty"`
	Errors     []ErrorCount `json:"errors"`
}

// OK reports whether every call succeeded and the run cleaned up.
func (r *ControlPlaneReport) OK() bool {
	return len(r.Errors) == 0 && len(r.LeftBehind) == 0 && r.Cycle.Calls == r.Params.Cycles &&
		r.DescribeTrails.Calls == r.Params.Describes && r.CyclePhase.Aborted == "" && r.DescribePhase.Aborted == "" &&
		!r.CyclePhase.Interrupted && !r.DescribePhase.Interrupted
}

// controlPlaneSetupTimeout bounds each untimed call of setup and cleanup.
const controlPlaneSetupTimeout = 30 * time.Second

// createBucket creates the bucket through the S3 API at endpoint; a bucket
// the caller already owns is fine.
func createBucket(ctx context.Context, c *ControlPlaneConfig) error {
	s3c := s3.New(s3.Options{
		Region:           c.Region,
		BaseEndpoint:     aws.String(c.Endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, ""),
		UsePathStyle:     true,
		RetryMaxAttempts: 1,
	})
	in := &s3.CreateBucketInput{Bucket: aws.String(c.Bucket)}
	if c.Region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(c.Region)}
	}
	_, err := s3c.CreateBucket(ctx, in)
	var owned *s3types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return fmt.Errorf("creating bucket %s through S3 at %s: %s", c.Bucket, c.Endpoint, lookupErrorText(err))
	}
	return nil
}

// RunControlPlane drives the trail API as c says. Canceling ctx stops
// starting cycles and calls; a cycle under way still deletes its trail.
// The error is for a run that could not start; failures during the run
// are in the report.
func RunControlPlane(ctx context.Context, c ControlPlaneConfig) (*ControlPlaneReport, error) {
	switch {
	case c.Endpoint == "":
		return nil, errors.New("no endpoint")
	case c.AccessKeyID == "" || c.SecretAccessKey == "":
		return nil, errors.New("no credentials")
	case c.Cycles < 0 || c.Describes < 0 || c.Trails < 0:
		return nil, errors.New("cycles, describes and trails must not be negative")
	case c.Cycles == 0 && c.Describes == 0:
		return nil, errors.New("nothing to do: no cycles and no describes")
	case c.Concurrency < 1:
		return nil, errors.New("concurrency must be at least 1")
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.Bucket == "" {
		c.Bucket = DefaultControlPlaneBucket
	}
	if c.Timeout <= 0 {
		c.Timeout = time.Minute
	}
	prefix := fmt.Sprintf("cairn-bench-cp-%08x-", rand.Uint32())
	rep := &ControlPlaneReport{Command: "controlplane", NamePrefix: prefix, Params: ControlPlaneParams{
		Endpoint: c.Endpoint, Region: c.Region, Bucket: c.Bucket, CreateBucket: c.CreateBucket, BucketDir: c.BucketDir,
		Cycles: c.Cycles, Describes: c.Describes, Trails: c.Trails, Concurrency: c.Concurrency, Timeout: jsonDuration(c.Timeout),
	}}
	if c.BucketDir != "" {
		if err := os.MkdirAll(c.BucketDir, 0o755); err != nil {
			return nil, fmt.Errorf("bucket directory: %w", err)
		}
	}
	if c.CreateBucket {
		sctx, cancel := context.WithTimeout(context.Background(), controlPlaneSetupTimeout)
		err := createBucket(sctx, &c)
		cancel()
		if err != nil {
			return nil, err
		}
		rep.BucketCreated = true
	}
	ct := NewCloudTrailClient(c.Endpoint, c.AccessKeyID, c.SecretAccessKey, c.Region, c.Concurrency, c.Timeout)
	call := func(f func(ctx context.Context) error) (time.Duration, error) {
		cctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
		defer cancel()
		t0 := time.Now()
		err := f(cctx)
		return time.Since(t0), err
	}
	create := func(ctx context.Context, name string) error {
		_, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(name), S3BucketName: aws.String(c.Bucket)})
		return err
	}
	del := func(ctx context.Context, name string) error {
		_, err := ct.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String(name)})
		return err
	}

	var errs errorTally
	// One untimed call first, so that a wrong endpoint, key or bucket stops
	// the run with its own error instead of a tally of failures.
	probe := prefix + "probe"
	if _, err := call(func(ctx context.Context) error { return create(ctx, probe) }); err != nil {
		return nil, fmt.Errorf("CreateTrail %s on bucket %s in %s: %s", probe, c.Bucket, c.Region, lookupErrorText(err))
	}
	if _, err := call(func(ctx context.Context) error { return del(ctx, probe) }); err != nil {
		return nil, fmt.Errorf("DeleteTrail %s: %s (the trail is left behind)", probe, lookupErrorText(err))
	}

	// The cycles.
	cycles := load[cycleSample]{
		Workers: c.Concurrency, Total: int64(c.Cycles),
		Worker: func(int) func(int64, int) (cycleSample, outcome) {
			return func(i int64, _ int) (cycleSample, outcome) {
				s := cycleSample{name: prefix + strconv.FormatInt(i, 10)}
				var err error
				if s.create, err = call(func(ctx context.Context) error { return create(ctx, s.name) }); err != nil {
					errs.add("CreateTrail: "+lookupErrorText(err), 1)
					return s, unitFailed
				}
				s.created = true
				if s.del, err = call(func(ctx context.Context) error { return del(ctx, s.name) }); err != nil {
					errs.add("DeleteTrail: "+lookupErrorText(err), 1)
					return s, unitFailed
				}
				return s, unitOK
			}
		},
	}.run(ctx)
	rep.Env, rep.CyclePhase = cycles.Env, cycles.Phase
	if cycles.GaveUp {
		rep.CyclePhase.Aborted = fmt.Sprintf("stopped after %d failed calls, with none successful", len(cycles.Failed))
	}
	var leftBehind []string
	createLat := make([]time.Duration, 0, len(cycles.OK))
	for _, s := range cycles.OK {
		createLat = append(createLat, s.create)
	}
	var createFails, deleteFails int
	for _, s := range cycles.Failed {
		if !s.created {
			createFails++
			continue
		}
		deleteFails++
		createLat = append(createLat, s.create)
		leftBehind = append(leftBehind, s.name)
	}
	ok, tried := len(cycles.OK), len(cycles.OK)+len(cycles.Failed)
	elapsed := rep.CyclePhase.Elapsed
	rep.Cycle = OpStats{Calls: tried, Failed: len(cycles.Failed), PerSec: rate(int64(ok), elapsed),
		Latency: latencies(cycles.OK, func(s cycleSample) time.Duration { return s.create + s.del })}
	rep.CreateTrail = OpStats{Calls: tried, Failed: createFails, PerSec: rate(int64(tried-createFails), elapsed), Latency: Summarize(createLat)}
	rep.DeleteTrail = OpStats{Calls: ok + deleteFails, Failed: deleteFails, PerSec: rate(int64(ok), elapsed),
		Latency: latencies(cycles.OK, func(s cycleSample) time.Duration { return s.del })}

	// The describes, with standing trails.
	if c.Describes > 0 && ctx.Err() == nil && !cycles.GaveUp {
		var standing []string
		for i := range c.Trails {
			name := prefix + "standing-" + strconv.Itoa(i)
			if _, err := call(func(ctx context.Context) error { return create(ctx, name) }); err != nil {
				errs.add("CreateTrail (standing, not timed): "+lookupErrorText(err), 1)
				break
			}
			standing = append(standing, name)
		}
		describes := load[describeSample]{
			Workers: c.Concurrency, Total: int64(c.Describes),
			Worker: func(int) func(int64, int) (describeSample, outcome) {
				return func(int64, int) (describeSample, outcome) {
					var out *cloudtrail.DescribeTrailsOutput
					lat, err := call(func(ctx context.Context) error {
						var err error
						out, err = ct.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
						return err
					})
					if err != nil {
						errs.add("DescribeTrails: "+lookupErrorText(err), 1)
						return describeSample{}, unitFailed
					}
					return describeSample{lat: lat, listed: len(out.TrailList)}, unitOK
				}
			},
		}.run(ctx)
		rep.DescribePhase = describes.Phase
		if describes.GaveUp {
			rep.DescribePhase.Aborted = fmt.Sprintf("stopped after %d failed calls, with none successful", len(describes.Failed))
		}
		n := len(describes.OK)
		rep.DescribeTrails = OpStats{Calls: n + len(describes.Failed), Failed: len(describes.Failed),
			PerSec: rate(int64(n), describes.Elapsed), Latency: latencies(describes.OK, func(s describeSample) time.Duration { return s.lat })}
		if n > 0 {
			rep.TrailsPerAnswer = float64(sum(describes.OK, func(s describeSample) int64 { return int64(s.listed) })) / float64(n)
		}
		leftBehind = append(leftBehind, standing...)
	}

	// Cleanup: the standing trails, and any whose DeleteTrail failed.
	for _, name := range leftBehind {
		if _, err := call(func(ctx context.Context) error { return del(ctx, name) }); err != nil {
			errs.add("DeleteTrail (cleanup): "+lookupErrorText(err), 1)
			rep.LeftBehind = append(rep.LeftBehind, name)
		}
	}
	rep.Errors = errs.list()
	return rep, nil
}

// cycleSample is one CreateTrail+DeleteTrail cycle: its trail, whether
// the trail was created, and the latency of each call.
type cycleSample struct {
	name        string
	created     bool
	create, del time.Duration
}

// describeSample is one DescribeTrails call: its latency and the trails
// its answer listed.
type describeSample struct {
	lat    time.Duration
	listed int
}

// WriteText prints the report for people.
func (r *ControlPlaneReport) WriteText(w io.Writer) {
	p := r.Params
	fmt.Fprintf(w, "cairn-bench controlplane\n")
	r.Env.writeText(w)
	fmt.Fprintf(w, "  endpoint    %s, region %s\n", p.Endpoint, p.Region)
	how := "existing"
	if r.BucketCreated {
		how = "created through S3 at the endpoint"
	}
	if p.BucketDir != "" {
		how += ", directory " + p.BucketDir
	}
	fmt.Fprintf(w, "  bucket      %s (%s)\n", p.Bucket, how)
	fmt.Fprintf(w, "  load        %s CreateTrail+DeleteTrail cycles (trails %s<n>), then %s DescribeTrails calls with %d trails standing; %d concurrent, through aws-sdk-go-v2 (no retries)\n",
		group(int64(p.Cycles)), r.NamePrefix, group(int64(p.Describes)), p.Trails, p.Concurrency)
	fmt.Fprintln(w)
	phase := func(label string, ph Phase) {
		status := ""
		if ph.Interrupted {
			status = " (interrupted)"
		}
		if ph.Aborted != "" {
			status = " (" + ph.Aborted + ")"
		}
		fmt.Fprintf(w, "  %-11s %.3fs%s\n", label, ph.Elapsed.Seconds(), status)
	}
	if p.Cycles > 0 {
		phase("cycles", r.CyclePhase)
		fmt.Fprintf(w, "  throughput  %s cycles/s (%s API calls/s): %s of %s cycles completed\n",
			groupf(r.Cycle.PerSec), groupf(r.CreateTrail.PerSec+r.DeleteTrail.PerSec), group(int64(r.Cycle.Calls-r.Cycle.Failed)), group(int64(p.Cycles)))
		latencyLine(w, "CreateTrail", r.CreateTrail.Latency)
		latencyLine(w, "DeleteTrail", r.DeleteTrail.Latency)
		latencyLine(w, "cycle (create+delete)", r.Cycle.Latency)
		r.CyclePhase.ClientCPU.writeText(w, r.Env.NumCPU)
	}
	if p.Describes > 0 {
		if p.Cycles > 0 {
			fmt.Fprintln(w)
		}
		phase("describes", r.DescribePhase)
		fmt.Fprintf(w, "  throughput  %s DescribeTrails/s: %s calls, %s failed, %.1f trails per answer\n",
			groupf(r.DescribeTrails.PerSec), group(int64(r.DescribeTrails.Calls)), group(int64(r.DescribeTrails.Failed)), r.TrailsPerAnswer)
		latencyLine(w, "DescribeTrails", r.DescribeTrails.Latency)
		r.DescribePhase.ClientCPU.writeText(w, r.Env.NumCPU)
	}
	fmt.Fprintln(w)
	if len(r.LeftBehind) > 0 {
		fmt.Fprintf(w, "  LEFT BEHIND %d trails could not be deleted: %v\n", len(r.LeftBehind), r.LeftBehind)
	}
	writeErrors(w, r.Errors)
}
