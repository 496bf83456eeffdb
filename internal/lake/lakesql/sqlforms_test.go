package lakesql

import (
	"slices"
	"testing"
)

// TestStandardSQLForms: the SQL standard's forms Trino reads — FETCH
// FIRST n ROWS ONLY, substring(s FROM a FOR n), position(sub IN s),
// trim([BOTH | LEADING | TRAILING] [chars] FROM s) — give what the
// function-call forms give.
func TestStandardSQLForms(t *testing.T) {
	db, fs := loadFixture(t)
	run := fixtureRunner(db)
	names := make([]string, 0, len(fs))
	for _, f := range fs {
		names = append(names, f.Name)
	}
	slices.Sort(names)
	for _, c := range []struct {
		sql  string
		want []string
	}{
		{"SELECT eventName FROM $EDS_ID ORDER BY eventName FETCH FIRST 3 ROWS ONLY", names[:3]},
		{"SELECT eventName FROM $EDS_ID ORDER BY eventName OFFSET 2 ROWS FETCH NEXT ROW ONLY", names[2:3]},
	} {
		res, err := run(c.sql)
		if err != nil {
			t.Fatalf("%s: %v", c.sql, err)
		}
		var got []string
		for _, r := range project(t, res, nil) {
			got = append(got, r[0])
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.sql, got, c.want)
		}
	}
	res, err := run("SELECT substring('AddUserToGroup' FROM 2 FOR 3), substring('AddUserToGroup' FROM 4), position('User' IN 'AddUserToGroup')," +
		" position('x' || 'y' IN 'axyb'), trim(BOTH 'x' FROM 'xxaxx'), trim(LEADING 'x' FROM 'xxaxx'), trim(TRAILING 'x' FROM 'xxaxx')," +
		" trim(TRAILING FROM '  a  ') || '|', trim('xy' FROM 'xyaxy'), trim('xxaxx', 'x') FROM $EDS_ID LIMIT 1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ddU", "UserToGroup", "4", "2", "a", "axx", "xxa", "  a|", "a", "a"}
	if got := project(t, res, nil)[0]; !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	expectRefused(t, run, []exprCase{
		{"SELECT eventName FROM $EDS_ID FETCH FIRST 2 ROWS WITH TIES", "Expecting: ONLY"},
		{"SELECT trim(BOTH 'x' 'y') FROM $EDS_ID", "Expecting: FROM"},
		{"SELECT substring(eventName FROM) FROM $EDS_ID", "line 1:"},
	})
}

// TestStandardFormsNestDeep: each nested substring(…), trim(…) or
// position(…) reads its arguments once (a rewind per level made 40 levels
// take minutes).
func TestStandardFormsNestDeep(t *testing.T) {
	db, _ := loadFixture(t)
	run := fixtureRunner(db)
	expr := "eventName"
	for range 60 {
		expr = "trim(substring(" + expr + ", 1))"
	}
	expectValues(t, run, []exprCase{{"length(" + expr + ") > 0", "true"}})
}
