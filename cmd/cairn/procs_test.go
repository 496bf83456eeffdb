package main

import "testing"

func TestServerProcs(t *testing.T) {
	for _, c := range []struct {
		env          string
		chosen, want int
	}{
		{"", 2, 4},
		{"", 1, 2},
		{"", 8, 16},
		{"3", 3, 3}, // GOMAXPROCS set: the runtime's number stands
		{" 2 ", 2, 2},
	} {
		if got := serverProcs(c.env, c.chosen); got != c.want {
			t.Errorf("serverProcs(%q, %d) = %d, want %d", c.env, c.chosen, got, c.want)
		}
	}
}
