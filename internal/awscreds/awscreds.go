// Package awscreds picks the credentials of an AWS API destination (an s3://
// bucket, a cloudwatch-logs:// log group): the key pair the config gives,
// or else the AWS SDK's default credential chain (environment, shared
// files, instance or task roles).
package awscreds

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Provider returns static credentials when keyID is set, else the default
// chain's for region.
func Provider(region, keyID, secret string) (aws.CredentialsProvider, error) {
	if keyID != "" {
		return credentials.NewStaticCredentialsProvider(keyID, secret, ""), nil
	}
	cfg, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("loading default AWS credentials: %w", err)
	}
	return cfg.Credentials, nil
}
