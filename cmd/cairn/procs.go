package main

import (
	"runtime"
	"strings"
)

// serverProcs returns how many Go processors (GOMAXPROCS) cairn serve runs
// with: twice as many as the runtime chose by itself (the machine's CPUs,
// or the container's CPU quota), unless the GOMAXPROCS environment
// variable sets the number.
//
// Why more processors than CPUs: the goroutines that set the server's pace
// are short and wake often — the log writer after each fsync, a
// LookupEvents call after its request arrives — while record decoding and
// the indexer run for long stretches. With one processor per CPU, a woken
// writer or lookup waits for a processor until a long runner is preempted
// (Go's time slice is 10 ms), and in a 30-day backfill on 2 CPUs the
// writer spent half its time waiting so (a runtime trace). With twice as
// many, the woken goroutine gets a processor at once and the kernel's
// scheduler, which favours threads that slept, shares the CPUs between the
// threads. See BENCHMARKS.md ("Go processors").
func serverProcs(env string, chosen int) int {
	if strings.TrimSpace(env) != "" {
		return chosen // the runtime has applied it
	}
	return 2 * max(chosen, 1)
}

// setServerProcs applies serverProcs and returns the number in effect.
func setServerProcs(env string) int {
	n := serverProcs(env, runtime.GOMAXPROCS(0))
	runtime.GOMAXPROCS(n)
	return n
}
