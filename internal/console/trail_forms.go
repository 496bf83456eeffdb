package console

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/trail"
)

// The trail forms' fields and their errors: what the user typed, kept when
// a change is refused, and each error shown next to the field it is about.

// fieldErrs are a form's errors by field (the field's input name); the
// empty key is an error about the form as a whole.
type fieldErrs map[string]string

// trailForm is the settings form of a trail, as typed.
type trailForm struct {
	Name        string
	Bucket      string
	Prefix      string
	SNS         string
	KMS         string
	MultiRegion bool
	Global      bool
	Validation  bool
	// LogGroup and LogRole are the trail's CloudWatch Logs log group and
	// the role CloudTrail's API asks for with it; both empty for none.
	LogGroup string
	LogRole  string
	Tags     string
	Errs     fieldErrs
}

// Err is the error of field, or "".
func (f trailForm) Err(field string) string { return f.Errs[field] }

// readTrailForm reads the settings form as sent.
func readTrailForm(f url.Values) trailForm {
	get := func(k string) string { return strings.TrimSpace(f.Get(k)) }
	return trailForm{Name: get("name"), Bucket: get("bucket"), Prefix: get("prefix"), SNS: get("sns"), KMS: get("kms"),
		MultiRegion: f.Get("multi_region") != "", Global: f.Get("global") != "", Validation: f.Get("validation") != "",
		LogGroup: get("log_group"), LogRole: get("log_role"), Tags: f.Get("tags")}
}

// cloudWatch is the form's CloudWatch Logs settings as UpdateTrail and
// CreateTrail members: a role without a log group is dropped, so emptying
// the log group removes the trail's CloudWatch Logs delivery.
func (f trailForm) cloudWatch() (group, role string) {
	if f.LogGroup == "" {
		return "", ""
	}
	return f.LogGroup, f.LogRole
}

// errFields maps the API's error codes to the form field they are about.
var errFields = map[awsproto.Code]string{
	awsproto.InvalidTrailNameException:                 "name",
	awsproto.TrailAlreadyExistsException:               "name",
	awsproto.InvalidS3BucketNameException:              "bucket",
	awsproto.S3BucketDoesNotExistException:             "bucket",
	awsproto.InsufficientS3BucketPolicyException:       "bucket",
	awsproto.InvalidS3PrefixException:                  "prefix",
	awsproto.InvalidKmsKeyIdException:                  "kms",
	awsproto.KmsKeyNotFoundException:                   "kms",
	awsproto.InsufficientEncryptionPolicyException:     "kms",
	awsproto.InvalidSnsTopicNameException:              "sns",
	awsproto.InsufficientSnsTopicPolicyException:       "sns",
	awsproto.InvalidCloudWatchLogsLogGroupArnException: "log_group",
	awsproto.InvalidCloudWatchLogsRoleArnException:     "log_role",
	awsproto.InvalidParameterCombinationException:      "options",
	awsproto.InvalidTagParameterException:              "tags",
	awsproto.TagsLimitExceededException:                "tags",
	awsproto.InvalidEventSelectorsException:            "events",
	awsproto.InvalidInsightSelectorsException:          "insights",
}

// fieldOf is the form field a refused call's error is about, or "" when it
// is about no one field (access denied, throttling, internal failure).
func fieldOf(err error) string {
	var ae *apiError
	if !errors.As(err, &ae) {
		return ""
	}
	return errFields[awsproto.Code(ae.Code)]
}

// placeErr puts a refused call's error next to its field in errs, or on
// the form as a whole; only fields the form has (in fields) are used.
func placeErr(errs fieldErrs, err error, fields ...string) fieldErrs {
	if errs == nil {
		errs = fieldErrs{}
	}
	field := fieldOf(err)
	for _, f := range fields {
		if f == field {
			errs[field] = errText(err)
			return errs
		}
	}
	errs[""] = errText(err)
	return errs
}

// parseTags reads "key=value" lines; a line without "=" is an error (it is
// not a tag named after the line), as is a line without a key.
func parseTags(text string) ([]trail.Tag, error) {
	var tags []trail.Tag
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, formMessage(fmt.Sprintf("Tags line %d, %q, has no \"=\"; write key=value (key= for an empty value).", n+1, line))
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k == "" {
			return nil, formMessage(fmt.Sprintf("Tags line %d has no key; write key=value.", n+1))
		}
		tags = append(tags, trail.Tag{Key: &k, Value: &v})
	}
	return tags, nil
}

// fieldOrder lists the trail forms' fields in page order, each with its
// label and the control a link to it focuses.
var fieldOrder = []struct{ Field, Label, Target string }{
	{"name", "Trail name", "name"}, {"bucket", "S3 bucket", "bucket"}, {"prefix", "Key prefix", "prefix"},
	{"kms", "KMS key", "kms"}, {"sns", "SNS topic", "sns"}, {"options", "Options", "multi_region"},
	{"log_group", "Log group ARN", "log_group"}, {"log_role", "Role ARN", "log_role"},
	{"events", "Events to log", "mgmt_read"}, {"insights", "Insights", "insight_call_rate"}, {"tags", "Tags", "tags"},
}

// fieldLink is a field in error, for the summary above a form.
type fieldLink struct{ Label, Target string }

// Problems are the fields in error, in page order, for the summary that
// links to them.
func (f trailForm) Problems() []fieldLink {
	var out []fieldLink
	for _, o := range fieldOrder {
		if f.Errs[o.Field] != "" {
			out = append(out, fieldLink{o.Label, o.Target})
		}
	}
	return out
}

// TagLines are the tags as typed, one "key=value" a line, for the review.
func (f trailForm) TagLines() []string { return lines(f.Tags) }

// lines are the non-empty lines of text, trimmed.
func lines(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

// formMessage is an error whose text is a sentence for the form's user,
// shown as it is next to the field.
type formMessage string

func (m formMessage) Error() string { return string(m) }
