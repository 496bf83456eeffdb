package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/cairn-audit/cairn/internal/cli"
	"github.com/cairn-audit/cairn/internal/eventpattern"
	"github.com/cairn-audit/cairn/internal/tail"
)

const tailHelp = `Usage: cairn tail [--pattern P] [--endpoint URL] [--region R]

Prints the events of your account and region as the server acknowledges
them, one CloudTrail record (JSON) a line on stdout, until Ctrl-C: the
live tail (GET /v1/stream). Nothing older than the moment it connects is
shown; pipe it to jq to pick fields.

--pattern is an EventBridge event pattern, matched against the event
CloudTrail would send to EventBridge (source "aws.<service>",
detail-type, region, resources, and the record as "detail"), e.g.
  cairn tail --pattern '{"detail":{"eventName":[{"prefix":"Delete"}]}}'
  cairn tail --pattern '{"source":["aws.iam"]}'

Credentials come from CAIRN_ACCESS_KEY_ID / CAIRN_SECRET_ACCESS_KEY, else
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (a key allowed
cloudtrail:LookupEvents). The region is --region, else AWS_REGION, else
AWS_DEFAULT_REGION, else us-east-1.

When the stream drops (a server restart, a network fault) tail reconnects
with backoff and says on stderr which span of time it may have missed;
those events are in event history (aws cloudtrail lookup-events).

Flags:
`

func runTail(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tail", flag.ContinueOnError)
	pattern := fs.String("pattern", "", "an EventBridge event `pattern` the events must match")
	endpoint := fs.String("endpoint", cli.DefaultEndpoint(), "the Cairn server `URL` (env CAIRN_ENDPOINT)")
	region := fs.String("region", defaultRegion(), "the `region` whose events to show")
	if code, ok := cli.ParseFlags(fs, args, tailHelp, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "cairn tail: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *pattern != "" {
		// Said here at once rather than by the server.
		if _, err := eventpattern.Compile(*pattern); err != nil {
			fmt.Fprintf(stderr, "cairn tail: --pattern: %v\n", err)
			return 2
		}
	}
	id, secret := tailCredentials()
	if id == "" || secret == "" {
		fmt.Fprintln(stderr, "cairn tail: set CAIRN_ACCESS_KEY_ID and CAIRN_SECRET_ACCESS_KEY (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := tail.Follow(ctx, tail.ClientOptions{Endpoint: *endpoint, Region: *region, AccessKeyID: id, SecretAccessKey: secret,
		Pattern: *pattern, Out: stdout, Status: stderr})
	if err != nil {
		fmt.Fprintf(stderr, "cairn tail: %v\n", err)
		return 1
	}
	return 0
}

// tailCredentials are the access key pair from the environment: Cairn's
// variables, else the AWS CLI's.
func tailCredentials() (id, secret string) {
	if id, secret = os.Getenv("CAIRN_ACCESS_KEY_ID"), os.Getenv("CAIRN_SECRET_ACCESS_KEY"); id != "" || secret != "" {
		return id, secret
	}
	return os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
}

// defaultRegion is the AWS CLI's region from the environment, else us-east-1.
func defaultRegion() string {
	for _, v := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		if r := os.Getenv(v); r != "" {
			return r
		}
	}
	return "us-east-1"
}
