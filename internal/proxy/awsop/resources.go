package awsop

import (
	"net/url"
	"strings"

	"github.com/cairn-audit/cairn/internal/event"
)

// resources lists what the call acted on, best effort:
//
//   - S3: the object (object-level operations), the copy source, the bucket;
//   - DynamoDB: the tables of TableName, RequestItems and TransactItems;
//   - IAM: the user, role, group, instance profile and policy named;
//   - Lambda: the function; SQS: the queue (from its URL); KMS: the key;
//     Secrets Manager: the secret;
//   - any service: top-level request parameters and response elements
//     whose key ends in "Arn"/"Arns" and whose value is an ARN.
//
// The account is the ARN's when known (from an ARN or a queue URL in the
// request or response), else empty.
func (r *resolver) resources() []event.Resource {
	if r.op.Service == "s3" && r.s3 != nil {
		return r.s3Resources()
	}
	b := &resBuilder{region: r.c.Region, partition: partition(r.c.Region), seen: map[string]bool{}}
	p := r.op.RequestParameters
	resp, _ := r.op.ResponseElements.(map[string]any)
	switch r.op.Service {
	case "dynamodb":
		// The response's table ARN carries the account: prefer it.
		if td, ok := resp["tableDescription"].(map[string]any); ok {
			b.add(jsonString(td, "tableArn"), "")
		}
		b.dynamoTable(jsonString(p, "tableName"))
		if items, ok := p["requestItems"].(map[string]any); ok {
			for t := range items {
				b.dynamoTable(t)
			}
		}
		if items, ok := p["transactItems"].([]any); ok {
			for _, it := range items {
				im, _ := it.(map[string]any)
				for _, k := range []string{"get", "put", "update", "delete", "conditionCheck"} {
					if x, ok := im[k].(map[string]any); ok {
						b.dynamoTable(jsonString(x, "tableName"))
					}
				}
			}
		}
	case "iam":
		for _, k := range []string{"user", "role", "group", "instanceProfile", "policy"} {
			if x, ok := resp[k].(map[string]any); ok {
				b.add(jsonString(x, "arn"), "")
			}
		}
		for k, kind := range map[string]string{"userName": "user", "roleName": "role", "groupName": "group",
			"instanceProfileName": "instance-profile"} {
			if name := jsonString(p, k); name != "" && name != Hidden && !b.hasName(kind, name) {
				b.add("arn:"+b.partition+":iam:::"+kind+"/"+name, "")
			}
		}
	case "lambda":
		if fn := jsonString(p, "functionName"); fn != "" && !b.hasName("function", fn) {
			if strings.HasPrefix(fn, "arn:") {
				b.add(fn, "")
			} else if !strings.Contains(fn, ":") {
				if a := jsonString(resp, "functionArn"); a != "" {
					b.add(a, "")
				} else {
					b.add("arn:"+b.partition+":lambda:"+b.region+"::function:"+fn, "")
				}
			}
		}
	case "sqs":
		u := jsonString(p, "queueUrl")
		if u == "" {
			u = jsonString(resp, "queueUrl")
		}
		if u != "" {
			b.queue(u)
		} else if n := jsonString(p, "queueName"); n != "" {
			b.add("arn:"+b.partition+":sqs:"+b.region+"::"+n, "AWS::SQS::Queue")
		}
	case "kms":
		if k := jsonString(p, "keyId"); k != "" {
			if strings.HasPrefix(k, "arn:") {
				b.add(k, "")
			} else if strings.HasPrefix(k, "alias/") {
				b.add("arn:"+b.partition+":kms:"+b.region+"::"+k, "AWS::KMS::Alias")
			} else {
				b.add("arn:"+b.partition+":kms:"+b.region+"::key/"+k, "")
			}
		}
	case "secretsmanager":
		if a := jsonString(resp, "aRN"); a != "" {
			b.add(a, "")
		} else if s := jsonString(p, "secretId"); s != "" {
			if strings.HasPrefix(s, "arn:") {
				b.add(s, "")
			} else {
				b.add("arn:"+b.partition+":secretsmanager:"+b.region+"::secret:"+s, "")
			}
		}
	}
	b.arnsIn(p)
	b.arnsIn(resp)
	return b.list
}

type resBuilder struct {
	region, partition string
	seen              map[string]bool
	list              []event.Resource
}

func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// add records an ARN once, with its type (derived from the ARN when not
// given) and account.
func (b *resBuilder) add(arn, typ string) {
	if !strings.HasPrefix(arn, "arn:") || b.seen[arn] || len(arn) > 2048 {
		return
	}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return
	}
	b.seen[arn] = true
	if typ == "" {
		typ = arnType(parts[2], parts[5])
	}
	b.list = append(b.list, event.Resource{ARN: arn, AccountID: parts[4], Type: typ})
}

// hasName reports whether an ARN of the kind ("user", "function"…) naming
// the resource is already listed (from the response, with its account).
func (b *resBuilder) hasName(kind, name string) bool {
	for _, r := range b.list {
		if (strings.HasSuffix(r.ARN, "/"+name) || strings.HasSuffix(r.ARN, ":"+name)) &&
			(strings.Contains(r.ARN, ":"+kind+"/") || strings.Contains(r.ARN, ":"+kind+":")) {
			return true
		}
	}
	return false
}

func (b *resBuilder) dynamoTable(name string) {
	if name == "" || name == Hidden {
		return
	}
	if strings.HasPrefix(name, "arn:") {
		b.add(name, "AWS::DynamoDB::Table")
		return
	}
	for _, r := range b.list {
		if strings.HasSuffix(r.ARN, ":table/"+name) {
			return
		}
	}
	b.add("arn:"+b.partition+":dynamodb:"+b.region+"::table/"+name, "AWS::DynamoDB::Table")
}

// queue adds an SQS queue from its URL: <scheme>://<host>/<account>/<name>.
func (b *resBuilder) queue(u string) {
	pu, err := url.Parse(u)
	if err != nil {
		return
	}
	segs := strings.Split(strings.Trim(pu.Path, "/"), "/")
	if len(segs) != 2 || segs[1] == "" {
		return
	}
	b.add("arn:"+b.partition+":sqs:"+b.region+":"+segs[0]+":"+segs[1], "AWS::SQS::Queue")
}

// arnsIn adds the ARNs of a map's top-level keys ending in Arn or Arns.
func (b *resBuilder) arnsIn(m map[string]any) {
	for k, v := range m {
		l := strings.ToLower(k)
		if !strings.HasSuffix(l, "arn") && !strings.HasSuffix(l, "arns") {
			continue
		}
		switch x := v.(type) {
		case string:
			b.add(x, "")
		case []any:
			for i, e := range x {
				if s, ok := e.(string); ok && i < 100 {
					b.add(s, "")
				}
			}
		}
	}
}

// arnServices spell the services of ARNs in CloudFormation resource types.
var arnServices = map[string]string{
	"dynamodb": "DynamoDB", "iam": "IAM", "kms": "KMS", "sns": "SNS", "sqs": "SQS", "ec2": "EC2", "s3": "S3",
	"sts": "STS", "secretsmanager": "SecretsManager", "lambda": "Lambda", "logs": "Logs", "events": "Events",
	"states": "StepFunctions", "ecs": "ECS", "eks": "EKS", "ecr": "ECR", "rds": "RDS", "ssm": "SSM",
	"cloudformation": "CloudFormation", "apigateway": "ApiGateway", "cloudwatch": "CloudWatch",
	"elasticloadbalancing": "ElasticLoadBalancingV2", "kinesis": "Kinesis", "firehose": "KinesisFirehose",
	"cloudtrail": "CloudTrail", "route53": "Route53", "acm": "CertificateManager", "cognito-idp": "Cognito",
	"glue": "Glue", "athena": "Athena", "sagemaker": "SageMaker", "bedrock": "Bedrock",
	"elasticache": "ElastiCache", "redshift": "Redshift", "cloudfront": "CloudFront", "autoscaling": "AutoScaling",
	"organizations": "Organizations", "codebuild": "CodeBuild", "codepipeline": "CodePipeline",
}

// arnType derives a resource type from an ARN's service and resource:
// arn:aws:iam::1:role/x → AWS::IAM::Role, …:log-group:x → AWS::Logs::LogGroup.
func arnType(service, resource string) string {
	switch service {
	case "sns":
		return "AWS::SNS::Topic"
	case "sqs":
		return "AWS::SQS::Queue"
	case "s3":
		if strings.Contains(resource, "/") {
			return "AWS::S3::Object"
		}
		return "AWS::S3::Bucket"
	}
	svc, ok := arnServices[service]
	if !ok {
		if service == "" {
			return ""
		}
		svc = title(service)
	}
	kind := resource
	if i := strings.IndexAny(kind, "/:"); i >= 0 {
		kind = kind[:i]
	} else {
		return "AWS::" + svc
	}
	if kind == "" {
		return "AWS::" + svc
	}
	return "AWS::" + svc + "::" + title(kind)
}

// title spells "log-group" as "LogGroup", "stateMachine" as "StateMachine".
func title(s string) string {
	var b strings.Builder
	up := true
	for _, c := range s {
		if c == '-' || c == '_' || c == '.' {
			up = true
			continue
		}
		if up && c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		up = false
		b.WriteRune(c)
	}
	return b.String()
}
