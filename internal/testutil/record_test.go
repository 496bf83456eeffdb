package testutil

import "testing"

func TestSteady(t *testing.T) {
	b := []byte(`{"eventTime":"2026-11-26T12:00:00Z","eventID":"e1","requestParameters":{"eventID":"e1"}}`)
	got := Steady(t, b, "eventID", "eventTime")
	if want := `{"eventTime":"*","eventID":"*","requestParameters":{"eventID":"e1"}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
