package stream

import (
	"errors"
	"testing"
)

// Drops sums the counts of each reason and names the reasons in the order
// first seen; nothing dropped is no error.
func TestDrops(t *testing.T) {
	var d Drops
	if err := d.Err("x"); err != nil {
		t.Fatalf("nothing dropped: %v", err)
	}
	d.Add(1, "over 256 KB")
	d.Add(0, "never")
	d.Add(2, "over 14 days old")
	d.Add(3, "over 256 KB")
	var de *DroppedError
	if err := d.Err("CloudWatch Logs does not take them"); !errors.As(err, &de) || de.Count != 6 ||
		de.Reason != "CloudWatch Logs does not take them: 4 over 256 KB, 2 over 14 days old" {
		t.Fatalf("err = %#v", err)
	}
}
