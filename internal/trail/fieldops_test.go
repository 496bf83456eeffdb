package trail

import "testing"

// The builder's fields and operators (AdvancedFieldOperators) are exactly
// those ValidateSelectors accepts.
func TestAdvancedFieldOperatorsAgree(t *testing.T) {
	values := map[string]string{"eventCategory": "Management", "readOnly": "true", "resources.type": "AWS::S3::Object", "sessionCredentialFromConsole": "true"}
	all := []string{"Equals", "StartsWith", "EndsWith", "NotEquals", "NotStartsWith", "NotEndsWith"}
	list := AdvancedFieldOperators()
	if len(list) != int(numSelFields) {
		t.Fatalf("%d fields, want %d", len(list), numSelFields)
	}
	for _, fo := range list {
		for _, op := range all {
			v := values[fo.Field]
			if v == "" {
				v = "x"
			}
			fs := AdvancedFieldSelector{Field: selPtr(fo.Field)}
			*map[string]*[]string{"Equals": &fs.Equals, "StartsWith": &fs.StartsWith, "EndsWith": &fs.EndsWith,
				"NotEquals": &fs.NotEquals, "NotStartsWith": &fs.NotStartsWith, "NotEndsWith": &fs.NotEndsWith}[op] = []string{v}
			sel := AdvancedEventSelector{FieldSelectors: []AdvancedFieldSelector{fs}}
			if fo.Field != "eventCategory" {
				sel.FieldSelectors = append(sel.FieldSelectors, AdvancedFieldSelector{Field: selPtr("eventCategory"), Equals: []string{"Management"}})
			}
			err := ValidateSelectors(nil, []AdvancedEventSelector{sel}, "aws")
			if offered := selContains(fo.Operators, op); offered != (err == nil) {
				t.Errorf("%s %s: offered %v, ValidateSelectors: %v", fo.Field, op, offered, err)
			}
		}
	}
}
