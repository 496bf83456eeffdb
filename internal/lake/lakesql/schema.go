package lakesql

import "strings"

// typ is the static type of an expression, as Lake (Trino) types it.
type typ int

const (
	tNull       typ = iota // the type of NULL: fits anything
	tVarchar               // varchar
	tBigint                // bigint
	tDouble                // double
	tBool                  // boolean
	tTimestamp             // timestamp(3), held as Unix milliseconds
	tIntervalDS            // interval day to second, held as milliseconds
	tIntervalYM            // interval year to month, held as months
	tMap                   // map(varchar, varchar)
	tStruct                // row(...)
	tArray                 // array(...)
	tDecimal               // decimal(p, s), held as a double rounded to s places (decimal.go)
)

func (t typ) String() string {
	return [...]string{"unknown", "varchar", "bigint", "double", "boolean", "timestamp(3)",
		"interval day to second", "interval year to month", "map(varchar, varchar)", "row", "array", "decimal"}[t]
}

// numeric reports whether t is bigint, double or decimal.
func (t typ) numeric() bool { return t == tBigint || t == tDouble || t == tDecimal }

// field is one column of Lake's CloudTrail event schema or a field of one
// of its structs.
type field struct {
	name   string // the record's JSON member name (camelCase)
	t      typ
	fields []*field // the members of a struct, or of an array's struct elements
	hot    string   // the lake_events column that holds it, when it has one
	// elem is the type of an array's elements when they are not structs
	// (map_keys gives an array of varchar); tNull for struct elements.
	elem typ
	// whole marks the columns read from the whole record rather than a
	// member of it: wholeJSON (eventJson, the record's JSON text) and
	// wholeChecksum (eventJsonChecksum, its base64 SHA-256). SELECT *
	// leaves them out.
	whole int
}

const (
	wholeJSON = 1 + iota
	wholeChecksum
)

// find returns the member named name (compared case-insensitively, as
// Trino compares identifiers).
func (f *field) find(name string) *field {
	for _, c := range f.fields {
		if strings.EqualFold(c.name, name) {
			return c
		}
	}
	return nil
}

func str(name string) *field              { return &field{name: name, t: tVarchar} }
func st(name string, fs ...*field) *field { return &field{name: name, t: tStruct, fields: fs} }

// eventSchema is Lake's schema for CloudTrail management and data events
// ("Supported schema for CloudTrail event record fields"), top-level columns
// in Lake's order.
var eventSchema = st("",
	str("eventVersion"),
	st("userIdentity",
		str("type"), str("principalId"), &field{name: "arn", t: tVarchar, hot: "user_arn"},
		str("accountId"), str("accessKeyId"), str("userName"),
		st("sessionContext",
			st("attributes", &field{name: "creationDate", t: tTimestamp}, str("mfaAuthenticated")),
			st("sessionIssuer", str("type"), str("principalId"), str("arn"), str("accountId"), str("userName")),
			st("webIdFederationData", str("federatedProvider"), &field{name: "attributes", t: tMap}),
			str("sourceIdentity"), str("ec2RoleDelivery"), str("ec2IssuedInVPC")),
		st("onBehalfOf", str("userId"), str("identityStoreArn")),
		st("inScopeOf", str("sourceArn"), str("sourceAccount"), str("issuerType"), str("credentialsIssuedTo")),
		str("invokedBy"), str("identityProvider")),
	&field{name: "eventTime", t: tTimestamp, hot: "t"},
	&field{name: "eventSource", t: tVarchar, hot: "event_source"},
	&field{name: "eventName", t: tVarchar, hot: "event_name"},
	&field{name: "awsRegion", t: tVarchar, hot: "aws_region"},
	str("sourceIPAddress"), str("userAgent"), str("errorCode"), str("errorMessage"),
	&field{name: "requestParameters", t: tMap},
	&field{name: "responseElements", t: tMap},
	&field{name: "additionalEventData", t: tMap},
	str("requestID"),
	&field{name: "eventID", t: tVarchar, hot: "event_id"},
	&field{name: "readOnly", t: tBool},
	&field{name: "resources", t: tArray, fields: []*field{str("accountId"), str("type"), str("ARN"), str("arnPrefix")}},
	str("eventType"), str("apiVersion"),
	&field{name: "managementEvent", t: tBool},
	&field{name: "recipientAccountId", t: tVarchar, hot: "account"},
	str("sharedEventID"), str("annotation"), str("vpcEndpointId"), str("vpcEndpointAccountId"),
	&field{name: "serviceEventDetails", t: tMap},
	st("addendum", str("reason"), str("updatedFields"), str("originalRequestID"), str("originalEventID")),
	str("edgeDeviceDetails"),
	st("insightDetails", str("state"), str("eventSource"), str("eventName"), str("errorCode"),
		st("insightContext", &field{name: "statistics", t: tMap}, &field{name: "attributions", t: tMap}),
	),
	str("eventCategory"),
	st("tlsDetails", str("tlsVersion"), str("cipherSuite"), str("clientProvidedHostHeader")),
	&field{name: "sessionCredentialFromConsole", t: tBool},
	&field{name: "eventJson", t: tVarchar, whole: wholeJSON},
	&field{name: "eventJsonChecksum", t: tVarchar, whole: wholeChecksum},
)
