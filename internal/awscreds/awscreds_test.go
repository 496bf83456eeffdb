package awscreds

import (
	"context"
	"testing"
)

func TestProvider(t *testing.T) {
	p, err := Provider("us-east-1", "AKIAEXAMPLE000000001", "secret")
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Retrieve(context.Background())
	if err != nil || c.AccessKeyID != "AKIAEXAMPLE000000001" || c.SecretAccessKey != "secret" {
		t.Fatalf("static credentials: %+v, %v", c, err)
	}
	// Without a key pair: the default chain (here from the environment).
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAFROMENV000000001")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
	p, err = Provider("us-east-1", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if c, err := p.Retrieve(context.Background()); err != nil || c.AccessKeyID != "AKIAFROMENV000000001" {
		t.Fatalf("default chain: %+v, %v", c, err)
	}
}
