package lakesql

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// storeID stands for the event data store in the sample queries: AWS's
// samples write $EDS_ID, <EDS ID> or eds-ID where the store's ID goes.
const storeID = "EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE"

// sample is one of AWS's CloudTrail Lake sample queries, run unchanged but
// for the store ID, with its answer computed here in Go from the fixture.
type sample struct {
	name string
	// from names where the query comes from: "docs:<page>" is AWS's
	// CloudTrail user guide (docs.aws.amazon.com/awscloudtrail/latest/
	// userguide/<page>.html); "samples:<file>" is
	// github.com/aws-samples/cloud-trail-lake-query-samples, the sample
	// collection AWS's Lake documentation links to (its stored copies lost
	// some line breaks, e.g. "errorMessageORDER BY"; they are put back).
	from  string
	sql   string
	check []string // the columns compared (nil: all)
	// ordered compares the rows in order; otherwise as a multiset.
	ordered bool
	want    func(fs []*fx) [][]string
}

func tf(f *fx) string { return f.time().Format("2006-01-02 15:04:05.000") }

func between(f *fx, from, to string) bool {
	return f.Time > from && f.Time < to
}

func nz(s string) string {
	if s == "" {
		return "NULL"
	}
	return s
}

// countBy groups fs by key and returns rows of key parts plus the count.
func countBy(fs []*fx, keep func(*fx) bool, key func(*fx) []string) [][]string {
	counts := map[string]int{}
	parts := map[string][]string{}
	for _, f := range fs {
		if keep != nil && !keep(f) {
			continue
		}
		k := key(f)
		j := strings.Join(k, "\x00")
		counts[j]++
		parts[j] = k
	}
	var out [][]string
	for j, n := range counts {
		out = append(out, append(slices.Clone(parts[j]), fmt.Sprint(n)))
	}
	return out
}

func rowsOf(fs []*fx, keep func(*fx) bool, cols func(*fx) []string) [][]string {
	var out [][]string
	for _, f := range fs {
		if keep(f) {
			out = append(out, cols(f))
		}
	}
	return out
}

func byTime(fs []*fx) []*fx {
	s := slices.Clone(fs)
	slices.SortFunc(s, func(a, b *fx) int { return strings.Compare(a.Time, b.Time) })
	return s
}

func samples() []sample {
	return []sample{
		{name: "events between two times", from: "docs:cloudtrail-lake-queries",
			sql:   `SELECT * FROM eds-ID WHERE eventtime >='2023-01-05 13:51:00' and eventtime < ='2023-01-19 13:51:00'`,
			check: []string{"eventID", "eventTime"},
			want: func(fs []*fx) [][]string {
				return rowsOf(fs, func(f *fx) bool { return f.Time >= "2023-01-05 13:51:00" && f.Time <= "2023-01-19 13:51:00" },
					func(f *fx) []string { return []string{f.ID, tf(f)} })
			}},
		{name: "arbitrary on a redundant column", from: "docs:lake-queries-optimization",
			sql: `SELECT eventName, eventSource, arbitrary(eventType), count(*) FROM $EDS_ID GROUP BY eventName, eventSource`,
			want: func(fs []*fx) [][]string {
				rows := countBy(fs, nil, func(f *fx) []string { return []string{f.Name, f.Source} })
				for i, r := range rows {
					rows[i] = []string{r[0], r[1], "AwsApiCall", r[2]}
				}
				return rows
			}},
		{name: "events by name and region", from: "docs:lake-queries-optimization",
			sql: `SELECT eventName, awsRegion, count(*) FROM $EDS_ID GROUP BY eventName, awsRegion`,
			want: func(fs []*fx) [][]string {
				return countBy(fs, nil, func(f *fx) []string { return []string{f.Name, f.Region} })
			}},
		{name: "first 100 events by time", from: "docs:lake-queries-optimization",
			sql: `SELECT * FROM $EDS_ID ORDER BY eventTime LIMIT 100;`, check: []string{"eventID"}, ordered: true,
			want: func(fs []*fx) [][]string {
				var out [][]string
				for _, f := range byTime(fs) {
					out = append(out, []string{f.ID})
				}
				return out
			}},
		{name: "top errors", from: "samples:top-errors.sql",
			sql: `SELECT
    errorCode,  errorMessage,  COUNT(*
    ) as eventCount
FROM
    $EDS_ID
WHERE
    eventTime > '2022-01-01 00:00:00' 
    AND eventTime < '2022-01-01 00:00:00' 
    AND (errorCode is not null 
        or errorMessage is not null
    )
GROUP
    BY errorCode, errorMessage
ORDER BY eventCount DESC
LIMIT 10;`,
			want: func(fs []*fx) [][]string { return nil }},
		{name: "console logins without MFA", from: "samples:console-login-with-no-mfa.sql",
			sql: `SELECT
    *
FROM
    $EDS_ID 
WHERE
    eventsource = 'signin.amazonaws.com'  
    AND eventname = 'ConsoleLogin'  
    AND Element_at(additionaleventdata, 'MFAUsed' 
    ) = 'No'`, check: []string{"eventID", "eventName"},
			want: func(fs []*fx) [][]string {
				return rowsOf(fs, func(f *fx) bool {
					return f.Source == "signin.amazonaws.com" && f.Name == "ConsoleLogin" && f.Additional["MFAUsed"] == "No"
				}, func(f *fx) []string { return []string{f.ID, f.Name} })
			}},
		{name: "top S3 actions on a bucket", from: "samples:top-s3-actions.sql",
			sql: `SELECT
    eventName, COUNT(*
    ) as requestCount
FROM
    $EDS_ID
WHERE
    eventSource = 's3.amazonaws.com' 
    AND eventCategory = 'Data' 
    AND eventTime > '2022-01-01 00:00:00' 
    AND eventTime < '2022-01-01 00:00:00' 
    AND element_at(requestParameters, 'bucketName'
    ) = 'my-bucket-name'
GROUP
    BY eventName
ORDER BY requestCount DESC`,
			want: func(fs []*fx) [][]string { return nil }},
		{name: "requests by user by account", from: "samples:users-by-account.sql",
			sql: `SELECT
    userIdentity.principalid, useridentity.accountId, count(* 
    ) as eventCount 
FROM
    $EDS_ID 
WHERE
    userIdentity.principalid IS NOT NULL  
    AND eventTime > '2022-01-01 00:00:00'  
    AND eventTime < '2022-01-01 00:00:00'
GROUP
    BY userIdentity.principalid, useridentity.accountId ORDER BY EventCount DESC`,
			want: func(fs []*fx) [][]string { return nil }},
		{name: "data events by day of week", from: "samples:data-by-week-day.sql",
			sql: `SELECT
    day_of_week(eventTime
    ) as weekday,  COUNT(*
    ) as eventCount
FROM
    $EDS_ID
WHERE
    eventTime > '2022-01-01 00:00:00' 
    AND eventTime < '2022-01-01 00:00:00' 
    AND eventCategory = 'Data'
GROUP
    BY day_of_week(eventTime
    )
ORDER BY day_of_week(eventTime
    )`,
			want: func(fs []*fx) [][]string { return nil }},
		{name: "cross-account access", from: "samples:cross-account-access.sql",
			sql: `SELECT
    userIdentity.principalid, eventName, eventSource, userIdentity.accountId, recipientAccountId, requestParameters, eventTime
FROM
    $EDS_ID 
WHERE
    eventTime > '2022-04-30 00:00:00'  
    AND eventTime < '2022-06-01 00:00:00'  
    AND userIdentity.accountId != recipientAccountId`,
			check: []string{"principalid", "eventName", "eventSource", "accountId", "recipientAccountId", "eventTime"},
			want: func(fs []*fx) [][]string {
				return rowsOf(fs, func(f *fx) bool {
					return between(f, "2022-04-30 00:00:00", "2022-06-01 00:00:00") && f.Account != f.Recipient
				}, func(f *fx) []string {
					return []string{f.PrincipalID, f.Name, f.Source, f.Account, f.Recipient, tf(f)}
				})
			}},
		{name: "regions and services in use", from: "samples:logs-by-region.sql",
			sql: `SELECT
    awsRegion, eventSource, COUNT(*  
    ) AS apiCount 
FROM
    $EDS_ID 
WHERE
    eventTime > '2022-04-23 00:00:00'  
    AND eventTime < '2022-11-26 00:00:00' 
GROUP
    BY awsRegion, eventSource ORDER BY apiCount DESC`,
			want: func(fs []*fx) [][]string {
				return countBy(fs, func(f *fx) bool { return between(f, "2022-04-23 00:00:00", "2022-11-26 00:00:00") },
					func(f *fx) []string { return []string{f.Region, f.Source} })
			}},
		{name: "users added to an admin group", from: "samples:user-added-to-admin-group.sql",
			sql: `SELECT
    userIdentity.principalid, eventName, eventTime, element_at(requestParameters,'userName'  
    ) AS username, element_at(requestParameters,'groupName'  
    ) AS groupname
FROM
    $EDS_ID
WHERE
    eventTime > '2022-04-30 00:00:00'  
    AND eventTime < '2022-11-01 00:00:00'  
    AND eventName = 'AddUserToGroup'  
    AND element_at(requestParameters,'groupName'  
    ) like '%admin%'`,
			want: func(fs []*fx) [][]string {
				return rowsOf(fs, func(f *fx) bool {
					g, _ := f.Params["groupName"].(string)
					return between(f, "2022-04-30 00:00:00", "2022-11-01 00:00:00") && f.Name == "AddUserToGroup" && strings.Contains(g, "admin")
				}, func(f *fx) []string {
					return []string{f.PrincipalID, f.Name, tf(f), f.Params["userName"].(string), f.Params["groupName"].(string)}
				})
			}},
		{name: "top IAM callers", from: "samples:top-iam-actions-by-principal.sql",
			sql: `SELECT
	COUNT(*) AS apiCount, eventName, recipientAccountId, userIdentity.principalid
FROM
	$EDS_ID 
WHERE
	userIdentity.principalid IS NOT NULL AND eventTime >= '2022-01-08 00:00:00'
    AND
	    eventSource='iam.amazonaws.com'
GROUP BY
	eventName, recipientAccountId, userIdentity.principalid
ORDER BY
	apiCount DESC
`,
			want: func(fs []*fx) [][]string {
				rows := countBy(fs, func(f *fx) bool {
					return f.PrincipalID != "" && f.Time >= "2022-01-08 00:00:00" && f.Source == "iam.amazonaws.com"
				}, func(f *fx) []string { return []string{f.Name, f.Recipient, f.PrincipalID} })
				for i, r := range rows {
					rows[i] = []string{r[3], r[0], r[1], r[2]}
				}
				return rows
			}},
		{name: "roles assuming themselves", from: "samples:SelfAssumeRole.sql",
			sql: `SELECT
    eventid, eventtime, userIdentity.sessioncontext.sessionissuer.arn as RoleARN, userIdentity.principalId as RoleIdColonRoleSessionName 
from
    $EDS_ID 
where
    eventSource = 'sts.amazonaws.com' 
    and eventName = 'AssumeRole' 
    and userIdentity.type = 'AssumedRole' 
    and errorcode IS NULL 
    and userIdentity.sessioncontext.sessionissuer.arn = element_at(resources,1
    ).arn
`,
			want: func(fs []*fx) [][]string {
				return rowsOf(fs, func(f *fx) bool {
					return f.Source == "sts.amazonaws.com" && f.Name == "AssumeRole" && f.IdentType == "AssumedRole" &&
						f.ErrorCode == "" && len(f.ResourceArns) > 0 && f.IssuerArn == f.ResourceArns[0]
				}, func(f *fx) []string { return []string{f.ID, tf(f), f.IssuerArn, f.PrincipalID} })
			}},
		{name: "activity of an access key", from: "samples:iam-access-key-activity.sql",
			sql: `SELECT eventSource,eventName,sourceIPAddress,eventTime,errorCode
FROM $EDS_ID
WHERE userIdentity.accessKeyId = 'AKIAIOSFODNN7EXAMPLE'
AND eventTime > '2023-01-01 00:00:00' AND eventTime < '2023-01-07 00:00:00'
order by eventTime;
`, ordered: true,
			want: func(fs []*fx) [][]string {
				return rowsOf(byTime(fs), func(f *fx) bool {
					return f.AccessKey == "AKIAIOSFODNN7EXAMPLE" && between(f, "2023-01-01 00:00:00", "2023-01-07 00:00:00")
				}, func(f *fx) []string { return []string{f.Source, f.Name, f.IP, tf(f), nz(f.ErrorCode)} })
			}},
		{name: "top actions of a role", from: "samples:top-actions-by-iam-role.sql",
			sql: `SELECT count (*) as NumberEvents, eventSource, eventName
FROM $EDS_ID 
WHERE eventTime > '2023-01-01 00:00:00' AND eventTime < '2023-01-07 00:00:00' 
AND useridentity.type = 'AssumedRole' 
AND useridentity.sessioncontext.sessionissuer.arn = 'arn:aws:iam::555555555555:role/alice'
GROUP by eventSource, eventName
order by NumberEvents desc;
`,
			want: func(fs []*fx) [][]string {
				rows := countBy(fs, func(f *fx) bool {
					return between(f, "2023-01-01 00:00:00", "2023-01-07 00:00:00") && f.IdentType == "AssumedRole" &&
						f.IssuerArn == "arn:aws:iam::555555555555:role/alice"
				}, func(f *fx) []string { return []string{f.Source, f.Name} })
				for i, r := range rows {
					rows[i] = []string{r[2], r[0], r[1]}
				}
				return rows
			}},
		{name: "accounts active from an IP address", from: "samples:activity-performed-by-IP-address.sql",
			sql: `SELECT useridentity.accountid 
FROM $EDS_ID 
WHERE sourceIPAddress = '192.0.2.76'
AND eventTime > '2023-01-01 00:00:00' AND eventTime < '2023-01-07 00:00:00' 
AND useridentity.accountid != '555555555555' 
GROUP by useridentity.accountid;
`,
			want: func(fs []*fx) [][]string {
				rows := countBy(fs, func(f *fx) bool {
					return f.IP == "192.0.2.76" && between(f, "2023-01-01 00:00:00", "2023-01-07 00:00:00") && f.Account != "555555555555"
				}, func(f *fx) []string { return []string{f.Account} })
				for i, r := range rows {
					rows[i] = r[:1]
				}
				return rows
			}},
		{name: "DynamoDB scans", from: "samples:dynamodb-scan-operations.sql",
			sql: `SELECT
    *
FROM
    $EDS_ID 
WHERE
    eventsource = 'dynamodb.amazonaws.com'  
    AND eventname = 'scan'`, check: []string{"eventID"},
			want: func(fs []*fx) [][]string {
				return rowsOf(fs, func(f *fx) bool { return f.Source == "dynamodb.amazonaws.com" && f.Name == "scan" },
					func(f *fx) []string { return []string{f.ID} })
			}},
		{name: "manually created resources", from: "samples:list-all-manually-created-resources.sql",
			sql: `SELECT
    userIdentity.arn AS user, userIdentity, eventTime, eventSource, eventName, awsRegion, requestParameters, resources, requestID, eventID
FROM
    $EDS_ID
WHERE
    (eventName LIKE '%Create%' 
        OR eventName LIKE '%Update%' 
        OR eventName LIKE '%Put%' 
        OR eventName LIKE '%Delete%'
    )
    AND resources IS NOT NULL
    AND userIdentity.sessioncontext.sessionissuer.username NOT LIKE 'AWSServiceRole%'
    AND userIdentity.sessioncontext.sessionissuer.username NOT IN (''
    )
    AND sourceIpAddress != 'cloudformation.amazonaws.com'
ORDER BY eventTime DESC`, check: []string{"user", "eventTime", "eventName", "eventID"}, ordered: true,
			want: func(fs []*fx) [][]string {
				s := byTime(fs)
				slices.Reverse(s)
				return rowsOf(s, func(f *fx) bool {
					n := f.Name
					return (strings.Contains(n, "Create") || strings.Contains(n, "Update") || strings.Contains(n, "Put") || strings.Contains(n, "Delete")) &&
						len(f.ResourceArns) > 0 && f.IssuerName != "" && !strings.HasPrefix(f.IssuerName, "AWSServiceRole") &&
						f.IP != "" && f.IP != "cloudformation.amazonaws.com"
				}, func(f *fx) []string { return []string{f.Arn, tf(f), f.Name, f.ID} })
			}},
		{name: "every field, flattened", from: "samples:flatten-cloudtrail-lake-logs.sql",
			sql: `SELECT
    eventVersion,
    userIdentity.principalID,
    userIdentity.arn,
    userIdentity.accountID,
    userIdentity.accessKeyID,
    userIdentity.username,
    userIdentity.sessionContext.attributes.creationDate,
    userIdentity.sessionContext.attributes.mfaAuthenticated,
    userIdentity.sessionContext.sessionIssuer.type,
    userIdentity.sessionContext.sessionIssuer.principalID,
    userIdentity.sessionContext.sessionIssuer.arn,
    userIdentity.sessionContext.sessionIssuer.accountID,
    userIdentity.sessionContext.sessionIssuer.username,
    userIdentity.sessionContext.webidfederationData.federatedProvider,
    userIdentity.sessionContext.webidfederationData.attributes,
    userIdentity.sessionContext.sourceIdentity,
    userIdentity.sessionContext.ec2RoleDelivery,
    userIdentity.sessionContext.ec2IssuedInVPC,
    userIdentity.invokedBy,
    userIdentity.identityProvider,
    eventTime,
    eventSource,
    eventName,
    awsRegion,
    sourceIpAddress,
    userAgent,
    errorCode,
    errorMessage,
    requestParameters,
    responseElements,
    additionalEventData,
    requestID,
    eventID,
    readOnly,
    resources,
    eventType,
    apiVersion,
    managementEvent,
    recipientAccountID,
    sharedEventID,
    annotation,
    vpcEndPointID,
    serviceEventDetails,
    addendum,
    edgeDeviceDetails,
    insightDetails,
    eventCategory,
    tlsDetails.tlsVersion,
    tlsDetails.cipherSuite,
    tlsDetails.clientProvidedHostHeader,
    sessionCredentialFromConsole,
    eventJson,
    eventJsonChecksum
FROM
    $EDS_ID
WHERE eventTime >= '2023-01-03 00:00:00'
    AND eventTime <= '2023-01-05 00:00:00'
    -- Add filter Criteria in the where clause to filter the result set.`,
			check: []string{"eventID", "eventName", "arn", "sourceIpAddress"},
			want: func(fs []*fx) [][]string {
				return rowsOf(fs, func(f *fx) bool { return between(f, "2023-01-03 00:00:00", "2023-01-05 00:00:00") },
					func(f *fx) []string { return []string{f.ID, f.Name, nz(f.Arn), nz(f.IP)} })
			}},
		{name: "calls not on TLS 1.3", from: "samples:tls-version.sql",
			sql: `SELECT
    eventName,  awsRegion,  sourceIPAddress,  recipientAccountId,  tlsDetails.tlsversion
FROM
    $EDS_ID
WHERE
    eventTime > '2022-01-01 00:00:00' 
    AND eventTime < '2022-01-01 00:00:00' 
    AND tlsDetails.tlsversion != 'TLSv1.3'
`,
			want: func(fs []*fx) [][]string { return nil }},
		{name: "calls that failed", from: "samples:list-events-with-errors.sql",
			sql: `SELECT
    userIdentity.arn,eventTime,eventSource,eventName,awsRegion,sourceIPAddress,userAgent,errorCode,errorMessage,requestParameters,readOnly,resources,recipientAccountId,tlsDetails
FROM
    $EDS_ID
WHERE
    errorCode IS NOT NULL  
    AND eventTime > '2022-01-01 00:00:00'  
    AND eventTime < '2022-01-01 00:00:00'`,
			want: func(fs []*fx) [][]string { return nil }},
		{name: "console write calls", from: "samples:list-write-events-from-management-console.sql",
			sql: `SELECT
    userIdentity.arn,eventTime,eventSource,eventName,awsRegion,sourceIPAddress,userAgent,requestParameters,readOnly,recipientAccountId,sessionCredentialFromConsole
FROM
    $EDS_ID
WHERE
    sessionCredentialFromConsole = true  
    AND readOnly = false  
    AND eventTime > '2022-01-01 00:00:00'  
    AND eventTime < '2022-01-01 00:00:00'`,
			want: func(fs []*fx) [][]string { return nil }},
		{name: "most retrieved S3 objects", from: "samples:top-s3-objects.sql",
			sql: `SELECT
    element_at(requestParameters, 'bucketName'
    ) as bucketName,  element_at(requestParameters, 'key'
    ) as key,  COUNT(*
    ) as requestCount 
FROM
    $EDS_ID 
WHERE
    eventSource = 's3.amazonaws.com'  
    AND eventCategory = 'Data'  
    AND eventTime > '2022-01-01 00:00:00'  
    AND eventTime < '2022-01-01 00:00:00'  
    AND eventName = 'GetObject' 
GROUP
    BY requestParameters ORDER BY requestCount DESC LIMIT 20;`,
			want: func(fs []*fx) [][]string { return nil }},
		{name: "CloudTrail configuration changes", from: "samples:cloudtrail-configuration-changes.sql",
			sql: `SELECT
    eventName, element_at(requestParameters,'name' 
    ), userIdentity.principalid, eventTime
FROM
    $EDS_ID 
WHERE
    eventTime > '2022-01-01 00:00:00'  
    AND eventTime < '2022-01-01 00:00:00'  
    AND ( eventName = 'CreateTrail'  
        or eventName = 'UpdateTrail'  
        or eventName = 'DeleteTrail'  
        or eventName = 'StartLogging'  
        or eventName = 'StopLogging'  
    )`,
			want: func(fs []*fx) [][]string { return nil }},
		{name: "successful activity of a role", from: "samples:iam-role-activity.sql",
			sql: `SELECT eventSource, eventName, eventTime, eventID, errorCode 
FROM $EDS_ID 
WHERE eventTime > '2023-01-01 00:00:00' AND eventTime < '2023-01-07 00:00:00'
AND useridentity.type = 'AssumedRole'
AND useridentity.sessioncontext.sessionissuer.arn = 'arn:aws:iam::555555555555:role/alice';
`,
			want: func(fs []*fx) [][]string {
				return rowsOf(fs, func(f *fx) bool {
					return between(f, "2023-01-01 00:00:00", "2023-01-07 00:00:00") && f.IdentType == "AssumedRole" &&
						f.IssuerArn == "arn:aws:iam::555555555555:role/alice"
				}, func(f *fx) []string { return []string{f.Source, f.Name, tf(f), f.ID, nz(f.ErrorCode)} })
			}},
		{name: "S3 objects touched by an access key", from: "samples:s3-actions-by-iam-access-key.sql",
			sql: `SELECT element_at(requestParameters, 'bucketName') as BucketName, element_at(requestParameters, 'key') as ObjectName, eventName 
FROM $EDS_ID
WHERE (eventName = 'CopyObject' OR eventName = 'DeleteObject' OR eventName = 'DeleteObjects' OR eventName = 'GetObject' OR eventName = 'HeadObject' OR eventName = 'PutObject') 
AND eventTime > '2023-01-01 00:00:00' AND eventTime < '2023-01-07 00:00:00'
AND userIdentity.accessKeyId = 'AKIAIOSFODNN7EXAMPLE'
`,
			want: func(fs []*fx) [][]string { return nil }},
		{name: "successful activity of an access key", from: "samples:iam-access-key-success-activity.sql",
			sql: `SELECT count (*) as NumberEvents, eventSource, eventName
FROM $EDS_ID
WHERE eventTime > '2023-01-01 00:00:00' AND eventTime < '2023-01-07 00:00:00'
AND userIdentity.accessKeyId = 'AKIAIOSFODNN7EXAMPLE'
AND errorcode IS NULL
GROUP by eventSource, eventName
order by NumberEvents desc;
`,
			want: func(fs []*fx) [][]string {
				rows := countBy(fs, func(f *fx) bool {
					return between(f, "2023-01-01 00:00:00", "2023-01-07 00:00:00") && f.AccessKey == "AKIAIOSFODNN7EXAMPLE" && f.ErrorCode == ""
				}, func(f *fx) []string { return []string{f.Source, f.Name} })
				for i, r := range rows {
					rows[i] = []string{r[2], r[0], r[1]}
				}
				return rows
			}},
		{name: "instances launched", from: "samples:ec2-api-run-instances.sql",
			sql: `SELECT recipientAccountId, awsRegion, eventID, element_at(responseElements, 'instancesSet') as instances
FROM $EDS_ID
WHERE eventName='RunInstances'
AND eventTime > '2023-01-01 00:00:00' AND eventTime < '2023-01-07 00:00:00'
`,
			want: func(fs []*fx) [][]string {
				return rowsOf(fs, func(f *fx) bool {
					return f.Name == "RunInstances" && between(f, "2023-01-01 00:00:00", "2023-01-07 00:00:00")
				}, func(f *fx) []string { return []string{f.Recipient, f.Region, f.ID, "NULL"} })
			}},
		{name: "response elements of one event", from: "samples:event-response-element-by-event-id.sql",
			sql: `SELECT responseElements
FROM $EDS_ID
WHERE eventID = '3270e016-59a1-4448-8dd1-d27a4796502d';
`,
			want: func(fs []*fx) [][]string { return nil }},
		{name: "roles assumed with an access key", from: "samples:iam-role-assumed-by-iam-access-key.sql",
			sql: `SELECT requestParameters,responseElements
FROM $EDS_ID
WHERE eventName = 'AssumeRole'
AND eventTime > '2023-01-01 00:00:00' AND eventTime < '2023-01-07 00:00:00'
AND userIdentity.accessKeyId = 'AKIAIOSFODNN7EXAMPLE';
`,
			want: func(fs []*fx) [][]string { return nil }},
		{name: "EC2 network changes", from: "samples:ec2-events.sql",
			sql: `SELECT
    *
FROM
    $EDS_ID 
WHERE
    eventname IN ('AssociateAddress', 'DisassociateAddress', 'CancelReservedInstancesListing', 'CancelSpotInstanceRequests', 'CreateNetworkAcl', 'DeleteNetworkAcl', 'CreateNetworkAclEntry', '''CreateVpc' , 'DeleteVpcPeeringConnection', 'RevokeSecurityGroupIngress' , 'RevokeSecurityGroupEgress', 'DetachInternetGateway', 'PurchaseReservedInstancesOffering', 'ModifyReservedInstances', 'AcceptVpcPeeringConnection', 'RejectVpcPeeringConnection' , 'CreateVpcPeeringConnection' 
    )`, check: []string{"eventID"},
			want: func(fs []*fx) [][]string { return nil }},
	}
}

// runSample runs sql over the fixture with the store ID put in.
func runSample(t *testing.T, db *DB, sql string) *Result {
	t.Helper()
	q := sql
	for _, ph := range []string{"$EDS_ID", "eds-ID"} {
		q = strings.ReplaceAll(q, ph, storeID)
	}
	st, err := Parse(q)
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, q)
	}
	res, err := db.Run(context.Background(), st, RunOptions{
		Stores: map[string]string{storeID: "store1"},
		Now:    time.Date(2023, 2, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, q)
	}
	return res
}

// project picks the named columns (case-insensitively) of each row, NULL
// written as "NULL".
func project(t *testing.T, res *Result, cols []string) [][]string {
	t.Helper()
	idx := make([]int, 0, len(res.Columns))
	if cols == nil {
		for i := range res.Columns {
			idx = append(idx, i)
		}
	}
	for _, c := range cols {
		found := -1
		for i, rc := range res.Columns {
			if strings.EqualFold(rc, c) {
				found = i
				break
			}
		}
		if found < 0 {
			t.Fatalf("no column %q in %v", c, res.Columns)
		}
		idx = append(idx, found)
	}
	var out [][]string
	for _, r := range res.Rows {
		row := make([]string, len(idx))
		for j, i := range idx {
			if r[i] == nil {
				row[j] = "NULL"
			} else {
				row[j] = *r[i]
			}
		}
		out = append(out, row)
	}
	return out
}

// checkRowsAnyOrder runs sql ($EDS_ID standing for storeID, the store
// "store1") and requires its rows to be want's, in any order.
func checkRowsAnyOrder(t *testing.T, db *DB, storeID, sql string, want [][]string) {
	t.Helper()
	st, err := Parse(strings.ReplaceAll(sql, "$EDS_ID", storeID))
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.Run(context.Background(), st, RunOptions{Stores: map[string]string{storeID: "store1"}})
	if err != nil {
		t.Fatal(err)
	}
	got := project(t, res, nil)
	sortRows(got)
	sortRows(want)
	if !slices.EqualFunc(got, want, slices.Equal[[]string]) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func sortRows(rows [][]string) {
	slices.SortFunc(rows, func(a, b []string) int { return strings.Compare(strings.Join(a, "\x00"), strings.Join(b, "\x00")) })
}

// TestSampleQueries runs AWS's Lake sample queries unchanged (the store ID
// put in) over the fixture and compares each answer with one computed
// independently in Go.
func TestSampleQueries(t *testing.T) {
	db, fs := loadFixture(t)
	nonEmpty := 0
	for _, s := range samples() {
		t.Run(s.name, func(t *testing.T) {
			res := runSample(t, db, s.sql)
			got := project(t, res, s.check)
			want := s.want(fs)
			if !s.ordered {
				sortRows(got)
				sortRows(want)
			}
			if len(got) == 0 && len(want) == 0 {
				return
			}
			nonEmpty++
			if !slices.EqualFunc(got, want, slices.Equal[[]string]) {
				t.Errorf("%s (%s):\n got  %q\n want %q", s.name, s.from, got, want)
			}
		})
	}
	if n := len(samples()); n < 30 {
		t.Errorf("only %d sample queries", n)
	}
	t.Logf("%d sample queries, %d with a non-empty answer over the fixture", len(samples()), nonEmpty)
}
