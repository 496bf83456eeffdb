package awsproto

// Code is an AWS error code: what a client reads from the answer's
// "__type" and X-Amzn-ErrorType, and what SDKs turn into a typed error.
//
// Every code Cairn answers with is a constant below, named after the code
// itself so that a reader sees the wire string. Those of the CloudTrail API
// model are named after the model's error shapes (botocore's
// cloudtrail/2013-11-01/service-2.json); the model gives none of them an
// httpStatusCode, so the JSON protocol's 400 applies. The others are
// protocol-level codes that every AWS JSON service shares, or Cairn's own;
// their doc comments say so. TestCodesMatchModel holds this list to the
// model, and TestNoCodeLiterals keeps the codes from being spelled out
// anywhere else.
type Code string

// Codes of the CloudTrail API model, each answered with HTTP 400.
const (
	// AccessDeniedException: the caller's policy does not allow the
	// operation (or IngestEvents). HTTP 400.
	AccessDeniedException Code = "AccessDeniedException"
	// CloudTrailARNInvalidException: an ARN that is not a valid trail
	// ARN, or one of another region. HTTP 400.
	CloudTrailARNInvalidException Code = "CloudTrailARNInvalidException"
	// ConflictException: the trail changed while the request ran; the
	// client may retry. HTTP 400.
	ConflictException Code = "ConflictException"
	// InsightNotEnabledException: GetInsightSelectors on a trail without
	// Insights. HTTP 400.
	InsightNotEnabledException Code = "InsightNotEnabledException"
	// InsufficientEncryptionPolicyException: the KMS key's policy does not
	// let CloudTrail use it for the trail. HTTP 400.
	InsufficientEncryptionPolicyException Code = "InsufficientEncryptionPolicyException"
	// InsufficientS3BucketPolicyException: the bucket's policy does not let
	// CloudTrail write the trail's logs. HTTP 400.
	InsufficientS3BucketPolicyException Code = "InsufficientS3BucketPolicyException"
	// InsufficientSnsTopicPolicyException: the SNS topic does not exist or
	// its policy does not let CloudTrail publish. HTTP 400.
	InsufficientSnsTopicPolicyException Code = "InsufficientSnsTopicPolicyException"
	// InvalidCloudWatchLogsLogGroupArnException: the CloudWatch Logs log
	// group is not valid or not known. HTTP 400.
	InvalidCloudWatchLogsLogGroupArnException Code = "InvalidCloudWatchLogsLogGroupArnException"
	// InvalidCloudWatchLogsRoleArnException: the CloudWatch Logs role is not
	// valid. HTTP 400.
	InvalidCloudWatchLogsRoleArnException Code = "InvalidCloudWatchLogsRoleArnException"
	// InvalidEventCategoryException: LookupEvents' EventCategory is not
	// insight. HTTP 400.
	InvalidEventCategoryException Code = "InvalidEventCategoryException"
	// InvalidEventSelectorsException: PutEventSelectors' selectors break a
	// rule. HTTP 400.
	InvalidEventSelectorsException Code = "InvalidEventSelectorsException"
	// InvalidHomeRegionException: a trail changed from a region other than
	// its home region. HTTP 400.
	InvalidHomeRegionException Code = "InvalidHomeRegionException"
	// InvalidInsightSelectorsException: PutInsightSelectors' selectors break
	// a rule. HTTP 400.
	InvalidInsightSelectorsException Code = "InvalidInsightSelectorsException"
	// InvalidKmsKeyIdException: KmsKeyId is not a key ARN, key id, alias
	// name or alias ARN. HTTP 400.
	InvalidKmsKeyIdException Code = "InvalidKmsKeyIdException"
	// InvalidLookupAttributesException: LookupEvents' LookupAttributes are
	// not valid. HTTP 400.
	InvalidLookupAttributesException Code = "InvalidLookupAttributesException"
	// InvalidMaxResultsException: MaxResults is out of range. HTTP 400.
	InvalidMaxResultsException Code = "InvalidMaxResultsException"
	// InvalidNextTokenException: a NextToken that is not valid, or was made
	// for other parameters. HTTP 400.
	InvalidNextTokenException Code = "InvalidNextTokenException"
	// InvalidParameterCombinationException: parameters that are valid alone
	// but not together. HTTP 400.
	InvalidParameterCombinationException Code = "InvalidParameterCombinationException"
	// InvalidParameterException: a parameter that is not valid. HTTP 400.
	InvalidParameterException Code = "InvalidParameterException"
	// InvalidS3BucketNameException: S3BucketName is missing or not a valid
	// bucket name. HTTP 400.
	InvalidS3BucketNameException Code = "InvalidS3BucketNameException"
	// InvalidS3PrefixException: S3KeyPrefix is not valid. HTTP 400.
	InvalidS3PrefixException Code = "InvalidS3PrefixException"
	// InvalidSnsTopicNameException: SnsTopicName is not a valid topic name
	// or ARN. HTTP 400.
	InvalidSnsTopicNameException Code = "InvalidSnsTopicNameException"
	// InvalidTagParameterException: a tag key or value that is not valid,
	// or a key given twice. HTTP 400.
	InvalidTagParameterException Code = "InvalidTagParameterException"
	// InvalidTimeRangeException: StartTime after EndTime. HTTP 400.
	InvalidTimeRangeException Code = "InvalidTimeRangeException"
	// InvalidTokenException: ListPublicKeys' NextToken (Cairn answers in
	// one page, so it has none to accept). HTTP 400.
	InvalidTokenException Code = "InvalidTokenException"
	// InvalidTrailNameException: a missing or invalid trail name. HTTP 400.
	InvalidTrailNameException Code = "InvalidTrailNameException"
	// KmsKeyNotFoundException: the KMS key does not exist. HTTP 400.
	KmsKeyNotFoundException Code = "KmsKeyNotFoundException"
	// MaximumNumberOfTrailsExceededException: the account has as many
	// trails in the region as it may. HTTP 400.
	MaximumNumberOfTrailsExceededException Code = "MaximumNumberOfTrailsExceededException"
	// NotOrganizationMasterAccountException: an organization trail made or
	// changed by an account that is not the organization's management
	// account. HTTP 400.
	NotOrganizationMasterAccountException Code = "NotOrganizationMasterAccountException"
	// OperationNotPermittedException: ListInsightsData on a trail without
	// Insights. HTTP 400.
	OperationNotPermittedException Code = "OperationNotPermittedException"
	// OrganizationsNotInUseException: an organization trail for an account
	// in no organization. HTTP 400.
	OrganizationsNotInUseException Code = "OrganizationsNotInUseException"
	// ResourceNotFoundException: a tag operation names a trail that does
	// not exist. HTTP 400.
	ResourceNotFoundException Code = "ResourceNotFoundException"
	// S3BucketDoesNotExistException: the trail's bucket does not exist.
	// HTTP 400.
	S3BucketDoesNotExistException Code = "S3BucketDoesNotExistException"
	// TagsLimitExceededException: more than 50 tags on a trail. HTTP 400.
	TagsLimitExceededException Code = "TagsLimitExceededException"
	// ThrottlingException: the caller's request rate is over its limit.
	// HTTP 400.
	ThrottlingException Code = "ThrottlingException"
	// TrailAlreadyExistsException: a trail of that name exists. HTTP 400.
	TrailAlreadyExistsException Code = "TrailAlreadyExistsException"
	// TrailNotFoundException: no trail of that name or ARN. HTTP 400.
	TrailNotFoundException Code = "TrailNotFoundException"
	// EventDataStoreARNInvalidException: an event data store ARN or ID that is not valid. HTTP 400.
	EventDataStoreARNInvalidException Code = "EventDataStoreARNInvalidException"
	// EventDataStoreAlreadyExistsException: an event data store of that name exists in the account. HTTP 400.
	EventDataStoreAlreadyExistsException Code = "EventDataStoreAlreadyExistsException"
	// EventDataStoreMaxLimitExceededException: the account has as many event data stores as it may. HTTP 400.
	EventDataStoreMaxLimitExceededException Code = "EventDataStoreMaxLimitExceededException"
	// EventDataStoreNotFoundException: no event data store of that ARN or ID in the caller's account. HTTP 400.
	EventDataStoreNotFoundException Code = "EventDataStoreNotFoundException"
	// EventDataStoreTerminationProtectedException: DeleteEventDataStore on a store with termination protection on. HTTP 400.
	EventDataStoreTerminationProtectedException Code = "EventDataStoreTerminationProtectedException"
	// InactiveEventDataStoreException: the event data store is pending deletion. HTTP 400.
	InactiveEventDataStoreException Code = "InactiveEventDataStoreException"
	// InactiveQueryException: CancelQuery on a query that has already ended. HTTP 400.
	InactiveQueryException Code = "InactiveQueryException"
	// InvalidDateRangeException: ListQueries' StartTime after its EndTime. HTTP 400.
	InvalidDateRangeException Code = "InvalidDateRangeException"
	// InvalidEventDataStoreStatusException: the event data store's status does not allow the operation. HTTP 400.
	InvalidEventDataStoreStatusException Code = "InvalidEventDataStoreStatusException"
	// InvalidQueryStatementException: StartQuery's SQL does not parse or names what a query cannot use. HTTP 400.
	InvalidQueryStatementException Code = "InvalidQueryStatementException"
	// InvalidQueryStatusException: ListQueries' QueryStatus is not a query status. HTTP 400.
	InvalidQueryStatusException Code = "InvalidQueryStatusException"
	// MaxConcurrentQueriesException: the account has as many queries queued or running as it may. HTTP 400.
	MaxConcurrentQueriesException Code = "MaxConcurrentQueriesException"
	// QueryIdNotFoundException: no query of that ID in the caller's account. HTTP 400.
	QueryIdNotFoundException Code = "QueryIdNotFoundException"
	// AccountHasOngoingImportException: StartImport while another import of the account runs. HTTP 400.
	AccountHasOngoingImportException Code = "AccountHasOngoingImportException"
	// ImportNotFoundException: no import of that ID in the caller's account. HTTP 400.
	ImportNotFoundException Code = "ImportNotFoundException"
	// InvalidImportSourceException: StartImport's S3LocationUri is not a bucket of the caller's account, or not a trail's log folder. HTTP 400.
	InvalidImportSourceException Code = "InvalidImportSourceException"
	// UnsupportedOperationException: an operation, region or resource
	// Cairn does not serve (event data stores, for one). HTTP 400.
	UnsupportedOperationException Code = "UnsupportedOperationException"
)

// Codes that are not in the CloudTrail model: those of the AWS JSON
// protocol and of request signing, which every AWS service answers with,
// and Cairn's own.
const (
	// InternalFailure: the server failed; nothing is promised about what
	// was done. Not in the CloudTrail model (protocol-level). HTTP 500.
	InternalFailure Code = "InternalFailure"
	// ServiceUnavailableException: the server cannot take the request now
	// (draining, store unavailable); nothing was done. Not in the
	// CloudTrail model (protocol-level). HTTP 503.
	ServiceUnavailableException Code = "ServiceUnavailableException"
	// SerializationException: a body that is not the operation's JSON
	// shape, or one that did not arrive in time. Not in the CloudTrail
	// model (protocol-level). HTTP 400.
	SerializationException Code = "SerializationException"
	// UnknownOperationException: an X-Amz-Target that names no CloudTrail
	// operation (HTTP 400), or a path that serves no API (HTTP 404). Not in
	// the CloudTrail model (protocol-level).
	UnknownOperationException Code = "UnknownOperationException"
	// RequestEntityTooLargeException: a request body over the server's
	// limit. Not in the CloudTrail model (protocol-level). HTTP 413.
	RequestEntityTooLargeException Code = "RequestEntityTooLargeException"
	// MissingAuthenticationTokenException: a request with no Authorization
	// header. Not in the CloudTrail model (request signing). HTTP 400.
	MissingAuthenticationTokenException Code = "MissingAuthenticationTokenException"
	// IncompleteSignatureException: an Authorization header, or a header it
	// needs, that is malformed or missing. Not in the CloudTrail model
	// (request signing). HTTP 400.
	IncompleteSignatureException Code = "IncompleteSignatureException"
	// InvalidSignatureException: a well-formed signature that is wrong,
	// expired, or scoped to another service. Not in the CloudTrail model
	// (request signing). HTTP 400.
	InvalidSignatureException Code = "InvalidSignatureException"
	// UnrecognizedClientException: an access key id the server does not
	// know. Not in the CloudTrail model (request signing). HTTP 400.
	UnrecognizedClientException Code = "UnrecognizedClientException"
	// LimitExceededException: an IngestEvents batch with more records than
	// the server takes. Not in the CloudTrail model (Cairn's ingest API,
	// after the code AWS services share for it). HTTP 400.
	LimitExceededException Code = "LimitExceededException"
)
