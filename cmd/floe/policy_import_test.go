package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/floe-dev/floe/authz/awsimport/awstest"
)

// floe policy import aws against a real emulator (moto), with credentials
// from the standard chain (environment variables here).
func TestPolicyImportAWS(t *testing.T) {
	endpoint := awstest.MustMoto(t)
	ctx := awstest.Ctx(t)
	ic := iam.NewFromConfig(awstest.Config(endpoint))
	if _, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice"),
		Tags: []iamtypes.Tag{{Key: aws.String("site"), Value: aws.String("S001")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("read"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lakeformation:GetDataAccess",` +
			`"Resource":"arn:aws:glue:us-east-1:123456789012:table/clinical/subjects"}]}`)}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	data := t.TempDir()
	dir := filepath.Join(data, "policy")
	var out bytes.Buffer
	args := []string{"policy", "import", "aws", "--data", data, "--region", "us-east-1", "--endpoint-url", endpoint}
	if err := run(append(args, "--dry-run"), nil, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "==> policies/user.alice.read.json <==") || !strings.Contains(out.String(), `"site": "S001"`) {
		t.Fatalf("dry run output:\n%s", out.String())
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("dry run wrote %s: %v", dir, err)
	}
	out.Reset()
	if err := run(args, nil, &out, &out); err != nil || !strings.Contains(out.String(), "wrote 2 files to "+dir) {
		t.Fatalf("import: %v\n%s", err, out.String())
	}
	out.Reset()
	err := run([]string{"policy", "explain", "--policy-dir", dir, "--user", "alice", "--table", "clinical.subjects"}, nil, &out, &out)
	if err != nil || !strings.Contains(out.String(), "decision: ALLOW") {
		t.Fatalf("explain: %v\n%s", err, out.String())
	}
	if err := run(args, nil, &out, &out); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("second import without --force: %v", err)
	}
	if err := run(append(args, "--force"), nil, &out, &out); err != nil {
		t.Fatalf("import --force: %v", err)
	}
}
