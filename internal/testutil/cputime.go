package testutil

import (
	"testing"
	"time"
)

// ReportCPU reports the process's CPU time per iteration of b since start
// (a CPUTime taken before the loop) as cpu-ns/op, garbage collection
// included; nothing where CPUTime is not known.
func ReportCPU(b *testing.B, start time.Duration) {
	if cpu := CPUTime() - start; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
