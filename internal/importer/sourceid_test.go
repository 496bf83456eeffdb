package importer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSourceID: the spellings of one archive have one ID; connection
// options are not part of it; other buckets and prefixes differ.
func TestSourceID(t *testing.T) {
	same := []string{"s3://ctb/pre", "s3://ctb/pre/", "s3://ctb/pre/AWSLogs", "s3://ctb/pre/AWSLogs/",
		"s3://ctb/pre?endpoint=http://127.0.0.1:9000&region=us-east-1&path_style=true",
		"s3://ctb/pre/?endpoint=http://localhost:9000&region=eu-west-1"}
	for _, s := range same {
		if id, err := SourceID(s); err != nil || id != "s3://ctb/pre/" {
			t.Errorf("SourceID(%q) = %q, %v; want s3://ctb/pre/", s, id, err)
		}
	}
	for s, want := range map[string]string{"s3://ctb": "s3://ctb/", "s3://ctb/AWSLogs": "s3://ctb/", "s3://other/pre": "s3://other/pre/",
		"s3://ctb/pre/x": "s3://ctb/pre/x/", "file:///a/b/../c/AWSLogs/": "file:///a/c", "file://localhost/a/c/": "file:///a/c"} {
		if id, err := SourceID(s); err != nil || id != want {
			t.Errorf("SourceID(%q) = %q, %v; want %q", s, id, err, want)
		}
	}
	for _, s := range []string{"s3:///pre", "file://host/a", "http://x/y"} {
		if _, err := SourceID(s); err == nil {
			t.Errorf("SourceID(%q): no error", s)
		}
	}
}

// TestCheckpointOfEarlierVersionResumes: a checkpoint whose header holds
// the --source URL as given (as earlier versions wrote it) is the
// checkpoint of that URL's archive; one of another archive is refused.
func TestCheckpointOfEarlierVersionResumes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cp")
	old := `{"cairnImport":1,"source":"s3://ctb/pre?endpoint=http://127.0.0.1:9000"}` + "\n" + `"pre/AWSLogs/a.json.gz"` + "\n"
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCheckpoint(path, "s3://ctb/other/", ""); err == nil || !strings.Contains(err.Error(), "belongs to the import of") {
		t.Fatalf("another archive: %v", err)
	}
	c, err := OpenCheckpoint(path, "s3://ctb/pre/", "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.Done("pre/AWSLogs/a.json.gz") {
		t.Error("the file done in the earlier version's checkpoint is not done")
	}
}
