package e2e

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
)

// DescribeTrails lists a single-region trail of another region when its ARN
// is named (the API reference: "to return information about a trail in
// another Region, you must specify its trail ARN"), and only to its owner.
func TestDescribeTrailsOtherRegionByARN(t *testing.T) {
	t.Parallel()
	srv := trStart(t, trailsConfig, trBucket)
	west := srv.CloudTrail(AdminKey, AdminSecret, "us-west-2")
	trCreate(t, west, &cloudtrail.CreateTrailInput{Name: aws.String("west-only")})
	arn := trARN("us-west-2", Account1, "west-only")

	east := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	if list := trDescribe(t, east, nil); len(list) != 0 {
		t.Errorf("us-east-1 DescribeTrails without names lists another region's single-region trail: %s", trJSON(list))
	}
	if list := trDescribe(t, east, &cloudtrail.DescribeTrailsInput{TrailNameList: []string{"west-only"}}); len(list) != 0 {
		t.Errorf("us-east-1 DescribeTrails by name: %s, want nothing (a name means this region's trail)", trJSON(list))
	}
	list := trDescribe(t, east, &cloudtrail.DescribeTrailsInput{TrailNameList: []string{arn}})
	if len(list) != 1 || aws.ToString(list[0].TrailARN) != arn || aws.ToString(list[0].HomeRegion) != "us-west-2" {
		t.Errorf("us-east-1 DescribeTrails by the ARN of a us-west-2 trail: %s, want that trail", trJSON(list))
	}
	for _, region := range trRegions {
		bob := srv.CloudTrail(OtherKey, OtherSecret, region)
		if list := trDescribe(t, bob, &cloudtrail.DescribeTrailsInput{TrailNameList: []string{arn}}); len(list) != 0 {
			t.Errorf("Account2 %s DescribeTrails by Account1's ARN: %s", region, trJSON(list))
		}
	}
}

// ListPublicKeys on a server that has signed no digest yet still answers
// the region's current key, as CloudTrail always has one; the key then
// signs the region's first digest.
func TestListPublicKeysFreshServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := trStart(t, trailsConfig, trBucket)
	for _, region := range []string{"us-east-1", "eu-west-1"} {
		c := srv.CloudTrail(AdminKey, AdminSecret, region)
		out, err := c.ListPublicKeys(ctx, &cloudtrail.ListPublicKeysInput{})
		if err != nil {
			t.Fatalf("ListPublicKeys in %s: %v", region, err)
		}
		if len(out.PublicKeyList) != 1 || len(out.PublicKeyList[0].Value) == 0 || aws.ToString(out.PublicKeyList[0].Fingerprint) == "" {
			t.Fatalf("ListPublicKeys in %s on a fresh server: %d keys, want the current one", region, len(out.PublicKeyList))
		}
		again, err := c.ListPublicKeys(ctx, &cloudtrail.ListPublicKeysInput{})
		if err != nil || len(again.PublicKeyList) != 1 ||
			aws.ToString(again.PublicKeyList[0].Fingerprint) != aws.ToString(out.PublicKeyList[0].Fingerprint) {
			t.Errorf("ListPublicKeys in %s again: %v, %d keys, want the same key", region, err, len(again.PublicKeyList))
		}
	}
}
