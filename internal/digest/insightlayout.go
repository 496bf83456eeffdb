package digest

import "time"

// InsightLogKey is the key of an Insights log file, as CloudTrail names them:
//
//	[prefix/]AWSLogs/[orgID/]<acct>/CloudTrail-Insight/<region>/YYYY/MM/DD/<acct>_CloudTrail-Insight_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz
func InsightLogKey(prefix, orgID, account, region string, delivered time.Time, unique string) string {
	d := delivered.UTC()
	return awsLogs(prefix, orgID, account) + "/CloudTrail-Insight/" + region + "/" + d.Format(dayFormat) + "/" +
		account + "_CloudTrail-Insight_" + region + "_" + d.Format(logTimeFormat) + "_" + unique + ".json.gz"
}
