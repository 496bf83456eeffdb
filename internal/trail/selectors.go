package trail

// Selectors are the event selectors in effect, as GetEventSelectors shows
// them: the advanced ones when set, else the basic ones normalized (the
// default when none were put).
func (t *Trail) Selectors() (basic []EventSelector, advanced []AdvancedEventSelector) {
	if len(t.AdvancedEventSelectors) > 0 {
		return nil, t.AdvancedEventSelectors
	}
	sel := t.EventSelectors
	if len(sel) == 0 {
		sel = DefaultSelectors()
	}
	return NormalizeBasic(sel), nil
}

// EventSelector is a basic event selector (the model's EventSelector).
type EventSelector struct {
	ReadWriteType                 *string        `json:",omitempty"`
	IncludeManagementEvents       *bool          `json:",omitempty"`
	DataResources                 []DataResource `json:",omitzero"`
	ExcludeManagementEventSources []string       `json:",omitzero"`
}

// DataResource names data events of one resource type by ARN prefix.
type DataResource struct {
	Type   *string  `json:",omitempty"`
	Values []string `json:",omitempty"`
}

// AdvancedEventSelector is the model's AdvancedEventSelector.
type AdvancedEventSelector struct {
	Name           *string `json:",omitempty"`
	FieldSelectors []AdvancedFieldSelector
}

// AdvancedFieldSelector is one condition of an advanced selector.
type AdvancedFieldSelector struct {
	Field         *string
	Equals        []string `json:",omitempty"`
	StartsWith    []string `json:",omitempty"`
	EndsWith      []string `json:",omitempty"`
	NotEquals     []string `json:",omitempty"`
	NotStartsWith []string `json:",omitempty"`
	NotEndsWith   []string `json:",omitempty"`
}

// InsightSelector is the model's InsightSelector.
type InsightSelector struct {
	InsightType     *string  `json:",omitempty"`
	EventCategories []string `json:",omitempty"`
}
