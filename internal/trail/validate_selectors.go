package trail

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cairn-audit/cairn/internal/awsproto"
)

// Limits of event selectors ([BC] PutEventSelectors, EventSelector,
// DataResource, AdvancedEventSelector, Operator, SelectorName).
const (
	MaxEventSelectors         = 5    // basic selectors per trail
	MaxDataResourceValues     = 250  // data resource values across a trail's basic selectors
	MaxAdvancedEventSelectors = 5    // advanced selectors per trail
	MaxAdvancedValues         = 500  // condition values across a trail's advanced selectors
	MaxSelectorNameChars      = 1000 // AdvancedEventSelector.Name
	MaxOperatorValueChars     = 2048 // each value of an operator
)

// ReadWriteType values.
const (
	ReadWriteReadOnly  = "ReadOnly"
	ReadWriteWriteOnly = "WriteOnly"
	ReadWriteAll       = "All"
)

// The resource types basic selectors can log data events for.
const (
	ResourceS3Object       = "AWS::S3::Object"
	ResourceLambdaFunction = "AWS::Lambda::Function"
	ResourceDynamoDBTable  = "AWS::DynamoDB::Table"
)

// The management event sources a basic selector may exclude.
var excludableSources = []string{"kms.amazonaws.com", "rdsdata.amazonaws.com"}

// The Insights types (InsightSelector.InsightType).
const (
	InsightAPICallRate  = "ApiCallRateInsight"
	InsightAPIErrorRate = "ApiErrorRateInsight"
)

// selField names a field advanced selectors can filter on.
type selField uint8

const (
	fEventCategory selField = iota
	fEventSource
	fEventName
	fEventType
	fReadOnly
	fResourcesType
	fResourcesARN
	fUserIdentityARN
	fSessionCredentialFromConsole
	fErrorCode
	fVPCEndpointID
	numSelFields
)

// selFieldNames are the fields as the API spells them, in selField order.
var selFieldNames = [numSelFields]string{
	"eventCategory", "eventSource", "eventName", "eventType", "readOnly", "resources.type",
	"resources.ARN", "userIdentity.arn", "sessionCredentialFromConsole", "errorCode", "vpcEndpointId",
}

var selFieldByName = func() map[string]selField {
	m := make(map[string]selField, numSelFields)
	for i, n := range selFieldNames {
		m[n] = selField(i)
	}
	return m
}()

// selOp names an operator of an advanced field selector.
type selOp uint8

const (
	opEquals selOp = iota
	opStartsWith
	opEndsWith
	opNotEquals
	opNotStartsWith
	opNotEndsWith
	numSelOps
)

var selOpNames = [numSelOps]string{"Equals", "StartsWith", "EndsWith", "NotEquals", "NotStartsWith", "NotEndsWith"}

// selOperators returns a field selector's operator lists in selOp order; a nil
// list is an operator the request did not give.
func selOperators(fs *AdvancedFieldSelector) [numSelOps][]string {
	return [numSelOps][]string{fs.Equals, fs.StartsWith, fs.EndsWith, fs.NotEquals, fs.NotStartsWith, fs.NotEndsWith}
}

// The event categories an advanced selector of a trail can select.
var selTrailCategories = []string{"Management", "Data", "NetworkActivity"}

// DefaultSelectors is what a new trail has: one basic selector for all read
// and write management events and no data events.
func DefaultSelectors() []EventSelector {
	return []EventSelector{{
		ReadWriteType:                 selPtr(ReadWriteAll),
		IncludeManagementEvents:       selPtr(true),
		DataResources:                 []DataResource{},
		ExcludeManagementEventSources: []string{},
	}}
}

// NormalizeBasic returns copies of basic selectors with the defaults filled
// in as GetEventSelectors shows them: ReadWriteType All and
// IncludeManagementEvents true when absent, DataResources and
// ExcludeManagementEventSources empty rather than nil. The input is not
// modified.
func NormalizeBasic(sel []EventSelector) []EventSelector {
	if sel == nil {
		return nil
	}
	out := make([]EventSelector, len(sel))
	for i, s := range sel {
		n := EventSelector{
			ReadWriteType:                 selPtr(ReadWriteAll),
			IncludeManagementEvents:       selPtr(true),
			DataResources:                 make([]DataResource, len(s.DataResources)),
			ExcludeManagementEventSources: append([]string{}, s.ExcludeManagementEventSources...),
		}
		if s.ReadWriteType != nil {
			n.ReadWriteType = selPtr(*s.ReadWriteType)
		}
		if s.IncludeManagementEvents != nil {
			n.IncludeManagementEvents = selPtr(*s.IncludeManagementEvents)
		}
		for j, dr := range s.DataResources {
			n.DataResources[j] = DataResource{Values: append([]string{}, dr.Values...)}
			if dr.Type != nil {
				n.DataResources[j].Type = selPtr(*dr.Type)
			}
		}
		out[i] = n
	}
	return out
}

// ValidateSelectors checks a PutEventSelectors request's selectors against
// CloudTrail's rules for trails. Exactly one of basic and advanced must be
// given (non-nil); a list that is given must hold 1 to 5 selectors. partition
// is the ARN partition data resource values must name ("aws" when empty).
// The error is an *awsproto.Error: InvalidParameterCombinationException when
// both or neither list is given, InvalidEventSelectorsException naming the
// selector (counted from 1) and the field at fault otherwise.
func ValidateSelectors(basic []EventSelector, advanced []AdvancedEventSelector, partition string) error {
	if partition == "" {
		partition = "aws"
	}
	switch {
	case basic != nil && advanced != nil:
		return awsproto.Errorf(awsproto.InvalidParameterCombinationException,
			"You can use either EventSelectors or AdvancedEventSelectors, but not both.")
	case basic == nil && advanced == nil:
		return awsproto.Errorf(awsproto.InvalidParameterCombinationException,
			"Specify either EventSelectors or AdvancedEventSelectors.")
	case basic != nil:
		return validateBasic(basic, partition)
	default:
		return validateAdvanced(advanced, selTrailCategories, "a trail")
	}
}

// The event categories an advanced selector of an event data store can
// select (CloudTrail Lake's stores of CloudTrail events).
var selDataStoreCategories = []string{"Management", "Data", "NetworkActivity"}

// ValidateDataStoreSelectors checks an event data store's advanced event
// selectors (CreateEventDataStore, UpdateEventDataStore) against the rules
// advanced selectors of trails follow: 1 to 5 selectors, eventCategory
// required, the fields and operators of the model. The error is an
// InvalidEventSelectorsException naming the selector and field at fault.
func ValidateDataStoreSelectors(advanced []AdvancedEventSelector) error {
	return validateAdvanced(advanced, selDataStoreCategories, "an event data store")
}

func selectorsErr(format string, args ...any) error {
	return awsproto.Errorf(awsproto.InvalidEventSelectorsException, format, args...)
}

func validateBasic(sel []EventSelector, partition string) error {
	if len(sel) == 0 || len(sel) > MaxEventSelectors {
		return selectorsErr("EventSelectors has %d event selectors; a trail can have 1 to %d.", len(sel), MaxEventSelectors)
	}
	counted := 0
	for i, s := range sel {
		n := i + 1
		if s.ReadWriteType != nil {
			switch *s.ReadWriteType {
			case ReadWriteReadOnly, ReadWriteWriteOnly, ReadWriteAll:
			default:
				return selectorsErr("Event selector %d: ReadWriteType %q is not valid; use ReadOnly, WriteOnly or All.", n, *s.ReadWriteType)
			}
		}
		for j, dr := range s.DataResources {
			where := "Event selector " + strconv.Itoa(n) + ", data resource " + strconv.Itoa(j+1)
			if dr.Type == nil || *dr.Type == "" {
				return selectorsErr("%s: Type is required; use %s, %s or %s.", where,
					ResourceS3Object, ResourceLambdaFunction, ResourceDynamoDBTable)
			}
			typ := *dr.Type
			switch typ {
			case ResourceS3Object, ResourceLambdaFunction, ResourceDynamoDBTable:
			default:
				return selectorsErr("%s: Type %q is not supported by basic event selectors; use %s, %s or %s, or use AdvancedEventSelectors for other resource types.",
					where, typ, ResourceS3Object, ResourceLambdaFunction, ResourceDynamoDBTable)
			}
			if len(dr.Values) == 0 {
				return selectorsErr("%s: Values must contain at least one ARN or ARN prefix for %s.", where, typ)
			}
			for _, v := range dr.Values {
				kind, _, p, reason := parseDataValue(typ, v)
				if reason != "" {
					return selectorsErr("%s: Value %s for DataResources.Values is invalid: %s", where, v, reason)
				}
				if p != partition {
					return selectorsErr("%s: Value %s for DataResources.Values is invalid: the ARN partition must be %q.", where, v, partition)
				}
				if kind != valueAll {
					counted++
				}
			}
		}
		for _, src := range s.ExcludeManagementEventSources {
			if !selContains(excludableSources, src) {
				return selectorsErr("Event selector %d: ExcludeManagementEventSources value %q is not valid; only %s can be excluded.",
					n, src, strings.Join(excludableSources, " and "))
			}
		}
	}
	if counted > MaxDataResourceValues {
		return selectorsErr("EventSelectors name %d data resources; a trail can have at most %d across all event selectors (values that select all resources of a type are not counted).",
			counted, MaxDataResourceValues)
	}
	return nil
}

// dataValueKind is how a data resource value selects resources.
type dataValueKind uint8

const (
	valueAll    dataValueKind = iota // every resource of the type in the partition
	valuePrefix                      // S3 objects whose ARN starts with the value
	valueExact                       // the one resource with exactly this ARN
)

// parseDataValue reads one DataResources value of a basic selector. key is
// what the matcher compares a resource's ARN with (a prefix for valueAll and
// valuePrefix, the ARN for valueExact). reason, when not empty, says why the
// value is not valid for typ.
func parseDataValue(typ, v string) (kind dataValueKind, key, partition, reason string) {
	var service, example string
	switch typ {
	case ResourceS3Object:
		service = "s3"
		example = "an S3 object value is arn:<partition>:s3 (all buckets), arn:<partition>:s3:::bucket/ (all objects of a bucket) or arn:<partition>:s3:::bucket/prefix (objects whose key starts with prefix)."
	case ResourceLambdaFunction:
		service = "lambda"
		example = "a Lambda value is arn:<partition>:lambda (all functions) or a function ARN such as arn:<partition>:lambda:us-east-1:111122223333:function:name."
	case ResourceDynamoDBTable:
		service = "dynamodb"
		example = "a DynamoDB value is arn:<partition>:dynamodb (all tables) or a table ARN such as arn:<partition>:dynamodb:us-east-1:111122223333:table/name."
	default:
		return 0, "", "", "the resource type is not supported by basic event selectors."
	}
	parts := strings.SplitN(v, ":", 6)
	if len(parts) < 3 || parts[0] != "arn" || parts[2] != service || !arnPartitionOK(parts[1]) {
		return 0, "", "", example
	}
	partition = parts[1]
	all := "arn:" + partition + ":" + service
	if len(parts) == 3 {
		if service == "s3" {
			return valueAll, all + ":::", partition, ""
		}
		return valueAll, all + ":", partition, ""
	}
	if len(parts) != 6 {
		return 0, "", "", example
	}
	region, account, resource := parts[3], parts[4], parts[5]
	switch typ {
	case ResourceS3Object:
		if region != "" || account != "" {
			return 0, "", "", "S3 object ARNs have no region or account (arn:<partition>:s3:::bucket/key); " + example
		}
		if resource == "" {
			return valueAll, v, partition, ""
		}
		bucket, _, found := strings.Cut(resource, "/")
		if !arnBucketOK(bucket) {
			return 0, "", "", "the bucket name " + strconv.Quote(bucket) + " is not a valid S3 bucket name (no wildcards); " + example
		}
		if !found {
			return 0, "", "", "to log all objects of a bucket end the value with a slash (" + v + "/); " + example
		}
		return valuePrefix, v, partition, ""
	case ResourceLambdaFunction:
		// resource is "function:name" or "function:name:qualifier".
		rest, ok := strings.CutPrefix(resource, "function:")
		name, qualifier, qualified := strings.Cut(rest, ":")
		if !ok || !arnRegionOK(region) || !arnAccountOK(account) || !arnNameOK(name, 64, "-_") ||
			(qualified && !arnNameOK(qualifier, 128, "-_$")) {
			return 0, "", "", example
		}
		return valueExact, v, partition, ""
	default: // DynamoDB
		name, ok := strings.CutPrefix(resource, "table/")
		if !ok || !arnRegionOK(region) || !arnAccountOK(account) || len(name) < 3 || !arnNameOK(name, 255, "-_.") {
			return 0, "", "", example
		}
		return valueExact, v, partition, ""
	}
}

func arnPartitionOK(p string) bool {
	return p != "" && len(p) <= 32 && p[0] >= 'a' && p[0] <= 'z' && arnNameOK(p, 32, "-")
}

func arnRegionOK(r string) bool { return r != "" && arnNameOK(r, 64, "-") && strings.ToLower(r) == r }

func arnAccountOK(a string) bool {
	if len(a) != 12 {
		return false
	}
	for i := range len(a) {
		if a[i] < '0' || a[i] > '9' {
			return false
		}
	}
	return true
}

// arnBucketOK accepts S3 bucket names, including legacy names (upper case,
// underscores, up to 255 characters); wildcards are not names.
func arnBucketOK(b string) bool { return len(b) >= 3 && arnNameOK(b, 255, ".-_") }

// arnNameOK reports whether s is 1..max ASCII letters, digits and the bytes of extra.
func arnNameOK(s string, max int, extra string) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return true
}

// validateAdvanced checks advanced selectors of what (a trail, an event
// data store), whose eventCategory may be one of categories.
func validateAdvanced(sel []AdvancedEventSelector, categories []string, what string) error {
	if len(sel) == 0 || len(sel) > MaxAdvancedEventSelectors {
		return selectorsErr("AdvancedEventSelectors has %d advanced event selectors; %s can have 1 to %d.", len(sel), what, MaxAdvancedEventSelectors)
	}
	total := 0
	for i := range sel {
		n, err := validateAdvancedSelector(i+1, &sel[i], categories, what)
		if err != nil {
			return err
		}
		total += n
	}
	if total > MaxAdvancedValues {
		return selectorsErr("AdvancedEventSelectors have %d condition values; %s can have at most %d across all conditions of all advanced event selectors.",
			total, what, MaxAdvancedValues)
	}
	return nil
}

// validateAdvancedSelector checks advanced selector number n and returns the
// number of condition values it has.
func validateAdvancedSelector(n int, s *AdvancedEventSelector, categories []string, what string) (int, error) {
	if s.Name != nil {
		if c := utf8.RuneCountInString(*s.Name); c > MaxSelectorNameChars {
			return 0, selectorsErr("Advanced event selector %d: Name is %d characters; the limit is %d.", n, c, MaxSelectorNameChars)
		}
	}
	if len(s.FieldSelectors) == 0 {
		return 0, selectorsErr("Advanced event selector %d: FieldSelectors must contain at least one field selector; the eventCategory field is required.", n)
	}
	var seen [numSelFields]*AdvancedFieldSelector
	values := 0
	for j := range s.FieldSelectors {
		fs := &s.FieldSelectors[j]
		if fs.Field == nil || *fs.Field == "" {
			return 0, selectorsErr("Advanced event selector %d, field selector %d: Field is required.", n, j+1)
		}
		name := *fs.Field
		f, ok := selFieldByName[name]
		if !ok {
			return 0, selectorsErr("Advanced event selector %d: field %q is not supported; the fields are %s (case-sensitive).",
				n, name, strings.Join(selFieldNames[:], ", "))
		}
		if seen[f] != nil {
			return 0, selectorsErr("Advanced event selector %d: field %q appears in more than one field selector; give each field one field selector and put all its selOperators there.", n, name)
		}
		seen[f] = fs
		ops := selOperators(fs)
		given := 0
		for o, vals := range ops {
			if vals == nil {
				continue
			}
			given++
			if len(vals) == 0 {
				return 0, selectorsErr("Advanced event selector %d: field %q operator %s has no values; give at least one.", n, name, selOpNames[o])
			}
			for k, v := range vals {
				if v == "" {
					return 0, selectorsErr("Advanced event selector %d: field %q operator %s value %d is empty; values are 1 to %d characters.",
						n, name, selOpNames[o], k+1, MaxOperatorValueChars)
				}
				if c := utf8.RuneCountInString(v); c > MaxOperatorValueChars {
					return 0, selectorsErr("Advanced event selector %d: field %q operator %s value %d is %d characters; values are 1 to %d characters.",
						n, name, selOpNames[o], k+1, c, MaxOperatorValueChars)
				}
			}
			values += len(vals)
		}
		if given == 0 {
			return 0, selectorsErr("Advanced event selector %d: field %q has no operator; give at least one of %s.", n, name, strings.Join(selOpNames[:], ", "))
		}
		if err := checkFieldRules(n, f, &ops, categories, what); err != nil {
			return 0, err
		}
	}
	cat := seen[fEventCategory]
	if cat == nil {
		return 0, selectorsErr("Advanced event selector %d: field \"eventCategory\" is required; give it with Equals and one or more of %s.",
			n, strings.Join(categories, ", "))
	}
	if selContains(cat.Equals, "Data") && seen[fResourcesType] == nil {
		return 0, selectorsErr("Advanced event selector %d: field \"resources.type\" is required when eventCategory is Data.", n)
	}
	return values, nil
}

// checkFieldRules applies the rules particular to field f.
func checkFieldRules(n int, f selField, ops *[numSelOps][]string, categories []string, what string) error {
	name := selFieldNames[f]
	only := func(allowed ...selOp) error {
		for o, vals := range ops {
			if vals == nil {
				continue
			}
			ok := false
			for _, a := range allowed {
				ok = ok || selOp(o) == a
			}
			if !ok {
				names := make([]string, len(allowed))
				for i, a := range allowed {
					names[i] = selOpNames[a]
				}
				return selectorsErr("Advanced event selector %d: field %q supports only the %s operator, not %s.",
					n, name, strings.Join(names, " and "), selOpNames[o])
			}
		}
		return nil
	}
	switch f {
	case fEventCategory:
		if err := only(opEquals); err != nil {
			return err
		}
		for _, v := range ops[opEquals] {
			if !selContains(categories, v) {
				return selectorsErr("Advanced event selector %d: field \"eventCategory\" value %q is not valid for %s; use %s.",
					n, v, what, strings.Join(categories, ", "))
			}
		}
	case fReadOnly:
		if err := only(opEquals); err != nil {
			return err
		}
		for _, v := range ops[opEquals] {
			if v != "true" && v != "false" {
				return selectorsErr("Advanced event selector %d: field \"readOnly\" value %q is not valid; use true or false.", n, v)
			}
		}
	case fResourcesType:
		if err := only(opEquals); err != nil {
			return err
		}
		if c := len(ops[opEquals]); c != 1 {
			return selectorsErr("Advanced event selector %d: field \"resources.type\" must have exactly one value in Equals, not %d; use one advanced event selector per resource type.", n, c)
		}
	case fSessionCredentialFromConsole:
		return only(opEquals, opNotEquals)
	}
	return nil
}

// ValidateInsightSelectors checks a PutInsightSelectors request's selectors:
// each names ApiCallRateInsight or ApiErrorRateInsight, no type twice, and
// EventCategories from Management and Data. An empty list is valid: it turns
// Insights off. The error is an InvalidInsightSelectorsException.
func ValidateInsightSelectors(sel []InsightSelector) error {
	var seen [2]bool
	for i, s := range sel {
		n := i + 1
		if s.InsightType == nil || *s.InsightType == "" {
			return awsproto.Errorf(awsproto.InvalidInsightSelectorsException,
				"Insight selector %d: InsightType is required; use %s or %s.", n, InsightAPICallRate, InsightAPIErrorRate)
		}
		var k int
		switch *s.InsightType {
		case InsightAPICallRate:
			k = 0
		case InsightAPIErrorRate:
			k = 1
		default:
			return awsproto.Errorf(awsproto.InvalidInsightSelectorsException,
				"Insight selector %d: InsightType %q is not valid; use %s or %s.", n, *s.InsightType, InsightAPICallRate, InsightAPIErrorRate)
		}
		if seen[k] {
			return awsproto.Errorf(awsproto.InvalidInsightSelectorsException,
				"Insight selector %d: InsightType %s is given more than once; give each type once, with all its EventCategories.", n, *s.InsightType)
		}
		seen[k] = true
		for _, c := range s.EventCategories {
			if c != "Management" && c != "Data" {
				return awsproto.Errorf(awsproto.InvalidInsightSelectorsException,
					"Insight selector %d: EventCategories value %q is not valid; use Management or Data.", n, c)
			}
		}
	}
	return nil
}

func selContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func selPtr[T any](v T) *T { return &v }

// AdvancedFieldOperators lists the fields advanced event selectors of a trail
// can filter on, in the API's spelling, each with the operators the field
// allows (eventCategory, readOnly and resources.type only Equals;
// sessionCredentialFromConsole Equals and NotEquals; the others all six).
// The console's selector builder offers exactly these.
func AdvancedFieldOperators() []FieldOperators {
	out := make([]FieldOperators, 0, numSelFields)
	for f := range numSelFields {
		var ops []selOp
		switch f {
		case fEventCategory, fReadOnly, fResourcesType:
			ops = []selOp{opEquals}
		case fSessionCredentialFromConsole:
			ops = []selOp{opEquals, opNotEquals}
		default:
			ops = []selOp{opEquals, opStartsWith, opEndsWith, opNotEquals, opNotStartsWith, opNotEndsWith}
		}
		fo := FieldOperators{Field: selFieldNames[f]}
		for _, o := range ops {
			fo.Operators = append(fo.Operators, selOpNames[o])
		}
		out = append(out, fo)
	}
	return out
}

// FieldOperators is one field of advanced event selectors and the operators
// it allows.
type FieldOperators struct {
	Field     string   `json:"field"`
	Operators []string `json:"operators"`
}
