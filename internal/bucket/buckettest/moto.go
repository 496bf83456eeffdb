// Package buckettest runs a real S3-compatible store for tests: Python
// moto's moto_server, started per test on a free local port.
//
//	endpoint := buckettest.StartMoto(t)
//	buckettest.CreateBucket(t, endpoint, "audit-logs")
//	url := buckettest.S3URL(endpoint, "audit-logs") // for a config's buckets: entry
//
// The package does not import package bucket, so any test may use it.
package buckettest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cairn-audit/cairn/internal/testutil"
)

// Credentials and region to use with moto (it accepts any).
const (
	AccessKeyID     = "AKIAMOTOTESTING00001"
	SecretAccessKey = "moto-testing-secret"
	Region          = "us-east-1"
)

// startTimeout bounds how long moto_server may take to answer HTTP.
const startTimeout = 60 * time.Second

// StartMoto starts moto_server on a free port of 127.0.0.1 and returns its
// endpoint, e.g. "http://127.0.0.1:41234", once it answers HTTP. The server
// (its process group) is killed in t.Cleanup. Each call starts a fresh,
// empty server. It fails the test if moto_server is not on PATH or does not
// come up.
// Under -short it skips t: starting moto is the slow tier.
func StartMoto(t testing.TB) (endpoint string) {
	t.Helper()
	testutil.SkipShort(t, "starts moto_server")
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Fatalf("buckettest: moto_server is not on PATH; the S3 tests need Python moto's server "+
			"(pip install 'moto[server]'): %v", err)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		endpoint, err := startMoto(t, bin)
		if err == nil {
			return endpoint
		}
		lastErr = err // most likely the free port was taken meanwhile; try another
	}
	t.Fatalf("buckettest: %v", lastErr)
	return ""
}

func startMoto(t testing.TB, bin string) (string, error) {
	t.Helper()
	port, err := freePort()
	if err != nil {
		return "", err
	}
	logPath := filepath.Join(t.TempDir(), "moto_server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return "", err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // kill its children with it
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("starting moto_server: %w", err)
	}
	pid := cmd.Process.Pid
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	stop := func() {
		_ = syscall.Kill(-pid, syscall.SIGKILL) // the process group moto_server leads
		<-exited
	}

	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-exited:
			out, _ := os.ReadFile(logPath)
			return "", fmt.Errorf("moto_server on port %d exited before answering: %s\n%s", port, cmd.ProcessState, out)
		default:
		}
		resp, err := client.Get(endpoint + "/")
		if err == nil {
			resp.Body.Close()
			t.Cleanup(stop)
			return endpoint, nil
		}
		if time.Now().After(deadline) {
			stop()
			out, _ := os.ReadFile(logPath)
			return "", fmt.Errorf("moto_server on port %d did not answer HTTP within %s: %v\n%s", port, startTimeout, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Client returns an SDK S3 client for the moto server at endpoint (path
// style, Region, the package's credentials), e.g. to inspect what a test
// delivered with HeadObject.
func Client(endpoint string) *s3.Client {
	return s3.New(s3.Options{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
	})
}

// CreateBucket creates the bucket name on the moto server at endpoint.
func CreateBucket(t testing.TB, endpoint, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := Client(endpoint).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
	var owned *types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		t.Fatalf("buckettest: creating bucket %s on %s: %v", name, endpoint, err)
	}
}

// S3URL returns the configuration URL of the moto bucket name:
// s3://name?endpoint=<endpoint>&region=us-east-1&path_style=true. Use the
// package's AccessKeyID and SecretAccessKey as its credentials.
func S3URL(endpoint, name string) string {
	return "s3://" + name + "?endpoint=" + endpoint + "&region=" + Region + "&path_style=true"
}
