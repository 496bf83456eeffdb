// Command lakeengines compares two engines for Cairn's Lake SQL on the same
// synthetic history: the embedded SQLite of internal/lake/lakesql (pure Go)
// and DuckDB (cgo). It lives in a module of its own so that the main build
// stays pure Go.
//
//	go run . -engine sqlite -n 10000000 -dir /tmp/lakebench
//	go run . -engine duckdb -n 10000000 -dir /tmp/lakebench
//
// Each run loads n events spread over 30 days (unless -skipload and the
// database is there), then runs each query several times and prints the
// times, with the process CPU time per event of the load.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/lake/lakesql"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

var (
	engine   = flag.String("engine", "sqlite", "sqlite or duckdb")
	n        = flag.Int("n", 1000000, "events")
	dir      = flag.String("dir", "/tmp/lakebench", "directory for the databases")
	skipLoad = flag.Bool("skipload", false, "reuse the database already loaded")
	reps     = flag.Int("reps", 3, "runs of each query")
	batch    = flag.Int("batch", 5000, "events per insert transaction (sqlite)")
	ordered  = flag.Bool("ordered", false, "eventTime increasing with i, as a store filling live receives events (default: random, as a backfill)")
	cpuProf  = flag.String("cpuprofile", "", "write a CPU profile of the load to this file (sqlite; with -skipload: of the queries)")
	span     = flag.Duration("span", days*24*time.Hour, "with -ordered: the time the events spread over, ending 30 days after the history's start (a busy store's live fill: hours)")
	skipJSON = flag.Bool("skipjson", false, "sqlite: leave out the query of a JSON field (a minute per run at 10M)")
	nUsers   = flag.Int("users", 2000, "users the events are spread over (a needle reads one user's events: n/users rows)")
	reframe  = flag.Bool("reframe", false, "sqlite, with -skipload: wait for Open's rewriting of blocks of the format before frames, and say what it took")
	fast     = flag.Bool("fastload", false, "sqlite: generate the events inside SQLite and build the indexes and rollups afterwards (minutes for 10M; see fastload.go)")
)

// The history: 30 days ending at end, 2,000 users (-users), 120 event
// names over 20 sources, 4 regions.
var end = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)

const (
	days    = 30
	nNames  = 120
	sources = 20
)

var regions = []string{"us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"}

// gen makes event i (deterministic).
func gen(r *rand.Rand, i int) *event.Event {
	t := end.Add(-time.Duration(r.Int64N(int64(days * 24 * time.Hour))))
	if *ordered {
		// i/n of the span (in float64: i·span in nanoseconds overflows an
		// int64 past ~3,500 events over 30 days).
		t = end.Add(-*span).Add(time.Duration(float64(i) / float64(*n) * float64(*span)))
	}
	// Skewed: a few names are common, as in real trails.
	name := int(float64(nNames) * r.Float64() * r.Float64())
	src := name % sources
	user := r.IntN(*nUsers)
	region := regions[r.IntN(len(regions))]
	id := fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", i, r.IntN(1<<16), r.IntN(1<<12), r.IntN(1<<12), r.Int64N(1<<48))
	errPart := ""
	if r.IntN(20) == 0 {
		errPart = `"errorCode":"AccessDenied","errorMessage":"User is not authorized to perform this operation",`
	}
	rec := fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE%04d:session","arn":"arn:aws:sts::123456789012:assumed-role/role%04d/session","accountId":"123456789012","accessKeyId":"ASIAEXAMPLE%08d","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE%04d","arn":"arn:aws:iam::123456789012:role/role%04d","accountId":"123456789012","userName":"role%04d"},"attributes":{"creationDate":"%s","mfaAuthenticated":"false"}}},"eventTime":"%s","eventSource":"svc%02d.amazonaws.com","eventName":"Action%03d","awsRegion":"%s","sourceIPAddress":"203.0.113.%d","userAgent":"aws-sdk-go-v2/1.30.4 os/linux lang/go#1.22",%s"requestParameters":{"bucketName":"bucket-%d","key":"obj/%d"},"responseElements":null,"requestID":"%s","eventID":"%s","readOnly":%t,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management"}`,
		user, user, user, user, user, user, t.Add(-time.Hour).Format(time.RFC3339), t.Format(time.RFC3339), src, name, region, r.IntN(256), errPart,
		r.IntN(50), r.IntN(1000), id, id, r.IntN(2) == 0)
	return &event.Event{ID: id, Time: t, Record: []byte(rec), Account: "123456789012", Region: region}
}

func cpu() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func main() {
	flag.Parse()
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		log.Fatal(err)
	}
	switch *engine {
	case "sqlite":
		runSQLite()
	case "duckdb":
		runDuck()
	default:
		log.Fatalf("unknown engine %q", *engine)
	}
}

const needleUser = "arn:aws:sts::123456789012:assumed-role/role0042/session"

func report(what string, f func() (int, error)) {
	var times []string
	for i := 0; i < *reps; i++ {
		c0, t0 := cpu(), time.Now()
		rows, err := f()
		if err != nil {
			log.Fatalf("%s: %v", what, err)
		}
		times = append(times, fmt.Sprintf("%v (cpu %v, %d rows)", time.Since(t0).Round(time.Millisecond), (cpu()-c0).Round(time.Millisecond), rows))
	}
	fmt.Printf("%-40s %s\n", what, strings.Join(times, "; "))
}

func runSQLite() {
	ctx := context.Background()
	path := filepath.Join(*dir, "lake.db")
	if !*skipLoad {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(path + suffix)
		}
	}
	if *fast && !*skipLoad {
		fastLoad(path, *n)
		*skipLoad = true
	}
	c0, t0 := cpu(), time.Now() // Open's cost (-reframe)
	db, err := lakesql.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if *reframe {
		<-db.Reframed()
		fmt.Printf("open and blocks written in frames: %v, CPU %v\n", time.Since(t0).Round(time.Millisecond), (cpu() - c0).Round(time.Millisecond))
	}
	if !*skipLoad {
		r := rand.New(rand.NewPCG(1, 2))
		if *cpuProf != "" {
			f, err := os.Create(*cpuProf)
			if err != nil {
				log.Fatal(err)
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				log.Fatal(err)
			}
		}
		c0, t0 := cpu(), time.Now()
		buf := make([]*event.Event, 0, *batch)
		for i := 0; i < *n; i++ {
			buf = append(buf, gen(r, i))
			if len(buf) == *batch || i == *n-1 {
				if err := db.Insert(ctx, "store1", buf); err != nil {
					log.Fatal(err)
				}
				buf = buf[:0]
			}
			if (i+1)%1000000 == 0 {
				fmt.Printf("  %d events, %v\n", i+1, time.Since(t0).Round(time.Second))
			}
		}
		el, c := time.Since(t0), cpu()-c0
		pprof.StopCPUProfile()
		fmt.Printf("load %d events: %v, %.0f events/s, CPU %.2f µs/event (generation included)\n", *n, el.Round(time.Millisecond),
			float64(*n)/el.Seconds(), float64(c.Microseconds())/float64(*n))
	}
	st, _ := os.Stat(path)
	if st != nil {
		fmt.Printf("database file %.1f MB\n", float64(st.Size())/1e6)
	}
	// The cost of generating events alone, to subtract.
	r := rand.New(rand.NewPCG(9, 9))
	c0 = cpu()
	for i := 0; i < 200000; i++ {
		gen(r, i)
	}
	fmt.Printf("generation alone: %.2f µs/event\n", float64((cpu()-c0).Microseconds())/200000)

	if *skipLoad && *cpuProf != "" {
		f, err := os.Create(*cpuProf)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	stores := map[string]string{"EDS": "store1"}
	from, to := end.Add(-days*24*time.Hour).Format("2006-01-02 15:04:05"), end.Format("2006-01-02 15:04:05")
	run := func(q string) func() (int, error) {
		return func() (int, error) {
			st, err := lakesql.Parse(q)
			if err != nil {
				return 0, err
			}
			res, err := db.Run(ctx, st, lakesql.RunOptions{Stores: stores, MaxRows: 1000000})
			if err != nil {
				return 0, err
			}
			return len(res.Rows), nil
		}
	}
	report("group by eventName, 30 days", run(fmt.Sprintf(`SELECT eventName, count(*) FROM EDS WHERE eventTime >= '%s' AND eventTime < '%s' GROUP BY eventName`, from, to)))
	// The target as a user writes it: a lower bound 30 days ago,
	// not on an hour (the rollups' whole hours plus the events of the hour
	// it cuts), and the same answer the events-only way (sum(1) is not a
	// count the rollups answer: the name index, as before them).
	ago := end.Add(-days*24*time.Hour + 17*time.Minute + 23*time.Second).Format("2006-01-02 15:04:05")
	report("group by eventName, eventTime > 30 days ago (mid-hour)", run(fmt.Sprintf(`SELECT eventName, count(*) FROM EDS WHERE eventTime > '%s' GROUP BY eventName`, ago)))
	report("  the same without the rollups (sum(1))", run(fmt.Sprintf(`SELECT eventName, sum(1) FROM EDS WHERE eventTime > '%s' GROUP BY eventName`, ago)))
	report("needle: one user's events, 30 days", run(fmt.Sprintf(`SELECT eventTime, eventName, eventSource, sourceIPAddress FROM EDS WHERE userIdentity.arn = '%s' AND eventTime >= '%s' AND eventTime < '%s' ORDER BY eventTime`, needleUser, from, to)))
	// The needle as a user writes it to read whole records (a map column
	// among them), with no time bounds.
	report("needle: one user's events, requestParameters, no bounds", run(fmt.Sprintf(`SELECT eventTime, eventName, requestParameters FROM EDS WHERE userIdentity.arn = '%s' ORDER BY eventTime`, needleUser)))
	report("group by eventName, last day", run(fmt.Sprintf(`SELECT eventName, count(*) FROM EDS WHERE eventTime >= '%s' GROUP BY eventName`, end.Add(-24*time.Hour).Format("2006-01-02 15:04:05"))))
	if !*skipJSON {
		report("errors by user (JSON field), 30 days", run(fmt.Sprintf(`SELECT userIdentity.arn, count(*) FROM EDS WHERE errorCode IS NOT NULL AND eventTime >= '%s' GROUP BY 1 ORDER BY 2 DESC LIMIT 10`, from)))
		// Record-reading queries of other shapes: a JSON field in WHERE
		// over 14 days, and a nested one grouped.
		from14 := end.Add(-14 * 24 * time.Hour).Format("2006-01-02 15:04:05")
		report("one source IP (JSON field), 14 days", run(fmt.Sprintf(`SELECT eventTime, eventName FROM EDS WHERE sourceIPAddress = '203.0.113.7' AND eventTime >= '%s' AND eventTime < '%s'`, from14, to)))
		report("by issuer userName (nested JSON), 14 days", run(fmt.Sprintf(`SELECT userIdentity.sessionContext.sessionIssuer.userName, count(*) FROM EDS WHERE eventTime >= '%s' AND eventTime < '%s' GROUP BY 1 ORDER BY 2 DESC LIMIT 20`, from14, to)))
	}
}

func runDuck() {
	path := filepath.Join(*dir, "lake.duckdb")
	if !*skipLoad {
		os.Remove(path)
		os.Remove(path + ".wal")
	}
	connector, err := duckdb.NewConnector(path, nil)
	if err != nil {
		log.Fatal(err)
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	ctx := context.Background()
	if !*skipLoad {
		if _, err := db.Exec(`CREATE TABLE events(store VARCHAR, event_id VARCHAR, event_time TIMESTAMP, event_name VARCHAR,
			event_source VARCHAR, aws_region VARCHAR, user_arn VARCHAR, account VARCHAR, rec JSON)`); err != nil {
			log.Fatal(err)
		}
		conn, err := connector.Connect(ctx)
		if err != nil {
			log.Fatal(err)
		}
		app, err := duckdb.NewAppenderFromConn(conn, "", "events")
		if err != nil {
			log.Fatal(err)
		}
		r := rand.New(rand.NewPCG(1, 2))
		if *cpuProf != "" {
			f, err := os.Create(*cpuProf)
			if err != nil {
				log.Fatal(err)
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				log.Fatal(err)
			}
		}
		c0, t0 := cpu(), time.Now()
		for i := 0; i < *n; i++ {
			e := gen(r, i)
			// The hot fields, as the Lake consumer would read them from the record.
			name, source, arn := hot(e.Record)
			if err := app.AppendRow("store1", e.ID, e.Time, name, source, e.Region, arn, e.Account, string(e.Record)); err != nil {
				log.Fatal(err)
			}
			if (i+1)%1000000 == 0 {
				if err := app.Flush(); err != nil {
					log.Fatal(err)
				}
				fmt.Printf("  %d events, %v\n", i+1, time.Since(t0).Round(time.Second))
			}
		}
		if err := app.Close(); err != nil {
			log.Fatal(err)
		}
		conn.Close()
		if _, err := db.Exec(`CHECKPOINT`); err != nil {
			log.Fatal(err)
		}
		el, c := time.Since(t0), cpu()-c0
		pprof.StopCPUProfile()
		fmt.Printf("load %d events: %v, %.0f events/s, CPU %.2f µs/event (generation included)\n", *n, el.Round(time.Millisecond),
			float64(*n)/el.Seconds(), float64(c.Microseconds())/float64(*n))
	}
	if st, _ := os.Stat(path); st != nil {
		fmt.Printf("database file %.1f MB\n", float64(st.Size())/1e6)
	}
	from, to := end.Add(-days*24*time.Hour), end
	q := func(query string, args ...any) func() (int, error) {
		return func() (int, error) {
			rows, err := db.QueryContext(ctx, query, args...)
			if err != nil {
				return 0, err
			}
			defer rows.Close()
			cols, _ := rows.Columns()
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			k := 0
			for rows.Next() {
				if err := rows.Scan(ptrs...); err != nil {
					return k, err
				}
				k++
			}
			return k, rows.Err()
		}
	}
	report("group by eventName, 30 days", q(`SELECT event_name, count(*) FROM events WHERE store = 'store1' AND event_time >= ? AND event_time < ? GROUP BY event_name`, from, to))
	report("needle: one user's events, 30 days", q(`SELECT event_time, event_name, event_source, rec->>'$.sourceIPAddress' FROM events WHERE store = 'store1' AND user_arn = ? AND event_time >= ? AND event_time < ? ORDER BY event_time`, needleUser, from, to))
	report("group by eventName, last day", q(`SELECT event_name, count(*) FROM events WHERE store = 'store1' AND event_time >= ? GROUP BY event_name`, end.Add(-24*time.Hour)))
	report("errors by user (JSON field), 30 days", q(`SELECT user_arn, count(*) FROM events WHERE store = 'store1' AND (rec->>'$.errorCode') IS NOT NULL AND event_time >= ? GROUP BY 1 ORDER BY 2 DESC LIMIT 10`, from))
}

// hot reads eventName, eventSource and userIdentity.arn from a record.
func hot(rec []byte) (name, source, arn string) {
	v := event.ReadView(rec)
	name, source = v.Summary.EventName, v.Summary.EventSource
	s := string(rec)
	if i := strings.Index(s, `"arn":"`); i >= 0 {
		j := strings.IndexByte(s[i+7:], '"')
		arn = s[i+7 : i+7+j]
	}
	return
}
