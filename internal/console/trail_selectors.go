package console

import (
	"encoding/json"
	"strings"

	"github.com/cairn-audit/cairn/internal/trail"
)

// Advanced event selectors on the trail page: shown as they are, edited as
// JSON (the form that works without a script) or with the builder that
// console.js draws over the same JSON, and templates for common cases.

// advView is one advanced event selector as the page lists it.
type advView struct {
	Name string
	Rows []advRow
}

// advRow is one condition: field, operator, values.
type advRow struct {
	Field, Operator string
	Values          []string
}

// viewAdvanced lists the conditions of sel, one row per field and operator.
func viewAdvanced(sel []trail.AdvancedEventSelector) []advView {
	var out []advView
	for _, s := range sel {
		v := advView{Name: deref(s.Name)}
		for _, fs := range s.FieldSelectors {
			for _, op := range []struct {
				name string
				vals []string
			}{{"Equals", fs.Equals}, {"StartsWith", fs.StartsWith}, {"EndsWith", fs.EndsWith},
				{"NotEquals", fs.NotEquals}, {"NotStartsWith", fs.NotStartsWith}, {"NotEndsWith", fs.NotEndsWith}} {
				if op.vals != nil {
					v.Rows = append(v.Rows, advRow{Field: deref(fs.Field), Operator: op.name, Values: op.vals})
				}
			}
		}
		out = append(out, v)
	}
	return out
}

// selTemplate is a ready-made set of advanced selectors for a common case.
type selTemplate struct {
	ID    string
	Title string
	About string
	JSON  string
}

// selTemplates are the templates the trail page offers. Each keeps
// management events unless leaving some out is its point, so that applying
// one never silently stops logging them.
var selTemplates = []selTemplate{
	{ID: "s3-all", Title: "All S3 data events",
		About: "Management events (read and write) and every S3 object-level data event.",
		JSON: templateJSON(
			advSel("Management events", fsel("eventCategory", "Management")),
			advSel("All S3 data events", fsel("eventCategory", "Data"), fsel("resources.type", trail.ResourceS3Object)))},
	{ID: "no-kms", Title: "Management events without AWS KMS",
		About: "Management events (read and write) except those of AWS KMS, which are many and rarely needed.",
		JSON: templateJSON(advSel("Management events without AWS KMS", fsel("eventCategory", "Management"),
			trail.AdvancedFieldSelector{Field: strPtr("eventSource"), NotEquals: []string{"kms.amazonaws.com"}}))},
	{ID: "writes", Title: "Write management events only",
		About: "Management events that change something; reads (Describe*, Get*, List*) are not logged.",
		JSON:  templateJSON(advSel("Write management events", fsel("eventCategory", "Management"), fsel("readOnly", "false")))},
}

// templateNamed is the template with id.
func templateNamed(id string) (selTemplate, bool) {
	for _, t := range selTemplates {
		if t.ID == id {
			return t, true
		}
	}
	return selTemplate{}, false
}

func strPtr(s string) *string { return &s }

func advSel(name string, fs ...trail.AdvancedFieldSelector) trail.AdvancedEventSelector {
	return trail.AdvancedEventSelector{Name: strPtr(name), FieldSelectors: fs}
}

func fsel(field string, equals ...string) trail.AdvancedFieldSelector {
	return trail.AdvancedFieldSelector{Field: strPtr(field), Equals: equals}
}

func templateJSON(sel ...trail.AdvancedEventSelector) string {
	b, err := json.MarshalIndent(sel, "", "  ")
	if err != nil {
		panic("console: selector template: " + err.Error())
	}
	return string(b)
}

// builderSpec is what the selector builder offers, as JSON for its
// data attribute: the fields and the operators each allows (from the trail
// package, which validates them), and values to suggest.
func builderSpec() string {
	spec := struct {
		Fields  []trail.FieldOperators `json:"fields"`
		Suggest map[string][]string    `json:"suggest"`
	}{trail.AdvancedFieldOperators(), map[string][]string{
		"eventCategory":                {"Management", "Data", "NetworkActivity"},
		"readOnly":                     {"true", "false"},
		"resources.type":               {trail.ResourceS3Object, trail.ResourceLambdaFunction, trail.ResourceDynamoDBTable},
		"eventSource":                  {"kms.amazonaws.com", "rdsdata.amazonaws.com", "s3.amazonaws.com", "iam.amazonaws.com"},
		"sessionCredentialFromConsole": {"true"},
	}}
	b, _ := json.Marshal(spec)
	return strings.TrimSpace(string(b))
}
