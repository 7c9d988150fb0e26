package awsimport_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/lakeformation"

	"github.com/floe-dev/floe/authz"
	"github.com/floe-dev/floe/authz/awsimport"
	"github.com/floe-dev/floe/authz/awsimport/awstest"
)

// moto's default account.
const acct = "123456789012"

func glueTable(db, table string) string {
	return "arn:aws:glue:us-east-1:" + acct + ":table/" + db + "/" + table
}

func doc(stmts ...map[string]any) *string {
	raw, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": stmts})
	if err != nil {
		panic(err)
	}
	return aws.String(string(raw))
}

type seeder struct {
	tb  testing.TB
	ctx context.Context
	c   *iam.Client
}

func (s seeder) must(_ any, err error) {
	s.tb.Helper()
	if err != nil {
		s.tb.Fatal(err)
	}
}

// mustSeedIAM creates, through the AWS SDK, the estate the import is
// checked against.
func mustSeedIAM(tb testing.TB, ctx context.Context, c *iam.Client) {
	tb.Helper()
	s := seeder{tb, ctx, c}
	// A managed policy with two versions: v1 grants every clinical table,
	// v2 (made the default) only subjects and secrets, plus an Allow floe
	// cannot express (an MFA condition) and an S3 statement (no floe
	// counterpart: kept, matches nothing).
	read, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("clinical-read"), PolicyDocument: doc(
		map[string]any{"Effect": "Allow", "Action": []string{"lakeformation:GetDataAccess", "glue:GetTable"}, "Resource": glueTable("clinical", "*")})})
	if err != nil {
		tb.Fatal(err)
	}
	s.must(c.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: read.Policy.Arn, SetAsDefault: true, PolicyDocument: doc(
		map[string]any{"Sid": "Tables", "Effect": "Allow", "Action": []string{"lakeformation:GetDataAccess", "glue:GetTable"},
			"Resource": []string{glueTable("clinical", "subjects"), glueTable("clinical", "secrets")}},
		map[string]any{"Sid": "Raw", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::clinical-raw/*"},
		map[string]any{"Sid": "WithMfa", "Effect": "Allow", "Action": "lakeformation:GetDataAccess", "Resource": glueTable("clinical", "vitals"),
			"Condition": map[string]any{"Bool": map[string]any{"aws:MultiFactorAuthPresent": "true"}}},
	)}))
	audit, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("audit-read"), PolicyDocument: doc(
		map[string]any{"Effect": "Allow", "Action": "lakeformation:GetDataAccess", "Resource": glueTable("floe_audit", "queries")})})
	if err != nil {
		tb.Fatal(err)
	}
	s.must(c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("unattached"), PolicyDocument: doc(
		map[string]any{"Effect": "Allow", "Action": "floe:Describe", "Resource": "*"})}))

	s.must(c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("analysts")}))
	s.must(c.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: aws.String("analysts"), PolicyArn: read.Policy.Arn}))
	s.must(c.PutGroupPolicy(ctx, &iam.PutGroupPolicyInput{GroupName: aws.String("analysts"), PolicyName: aws.String("deny-secrets"), PolicyDocument: doc(
		map[string]any{"Effect": "Deny", "Action": "glue:GetTable", "Resource": glueTable("clinical", "secrets")})}))

	for _, u := range []struct {
		name string
		tags map[string]string
	}{{"alice", map[string]string{"site": "S001", "team": "trials"}}, {"bob", nil}, {"carol", nil}, {"dave", nil}} {
		in := &iam.CreateUserInput{UserName: aws.String(u.name)}
		for k, v := range u.tags {
			in.Tags = append(in.Tags, iamtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		s.must(c.CreateUser(ctx, in))
	}
	s.must(c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("analysts"), UserName: aws.String("alice")}))
	s.must(c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("own-site"), PolicyDocument: doc(
		map[string]any{"Effect": "Allow", "Action": "lakeformation:GetDataAccess", "Resource": glueTable("sites", "${aws:PrincipalTag/site}")})}))
	// bob: may describe everything, but a Deny with a condition floe
	// cannot evaluate: kept without it, so bob may describe nothing.
	s.must(c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("regional"), PolicyDocument: doc(
		map[string]any{"Sid": "All", "Effect": "Allow", "Action": "glue:Get*", "Resource": "*"},
		map[string]any{"Sid": "OutsideEU", "Effect": "Deny", "Action": "*", "Resource": "*",
			"Condition": map[string]any{"StringNotEquals": map[string]any{"aws:RequestedRegion": "eu-west-1"}}})}))
	// dave may assume etl (the account trusts itself; dave's own policy allows it).
	s.must(c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("dave"), PolicyName: aws.String("assume-etl"), PolicyDocument: doc(
		map[string]any{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::" + acct + ":role/etl"})}))

	trust := func(principal any) *string {
		return doc(map[string]any{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": principal})
	}
	s.must(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("auditor"),
		AssumeRolePolicyDocument: trust(map[string]any{"AWS": "arn:aws:iam::" + acct + ":user/carol"}),
		Tags:                     []iamtypes.Tag{{Key: aws.String("dept"), Value: aws.String("audit")}}}))
	s.must(c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("auditor"), PolicyArn: audit.Policy.Arn}))
	s.must(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("etl"),
		AssumeRolePolicyDocument: trust(map[string]any{"AWS": "arn:aws:iam::" + acct + ":root"})}))
	s.must(c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("etl"), PolicyName: aws.String("load"), PolicyDocument: doc(
		map[string]any{"Effect": "Allow", "Action": "glue:CreatePartition", "Resource": glueTable("clinical", "*")})}))
	s.must(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("lambda-exec"),
		AssumeRolePolicyDocument: trust(map[string]any{"Service": "lambda.amazonaws.com"})}))
}

func TestImportIAMFromMoto(t *testing.T) {
	endpoint := awstest.MustMoto(t)
	ctx := awstest.Ctx(t)
	cfg := awstest.Config(endpoint)
	ic := iam.NewFromConfig(cfg)
	mustSeedIAM(t, ctx, ic)

	snap, err := awsimport.Fetch(ctx, ic, lakeformation.NewFromConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	res, err := awsimport.Map(snap, awsimport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "policy")
	if err := res.Write(dir, false, awsimport.Options{}); err != nil {
		t.Fatal(err)
	}
	p, err := authz.Compile(dir, authz.Options{})
	if err != nil {
		t.Fatalf("the imported directory does not compile: %v", err)
	}

	cases := []struct {
		user, action, ns, table string
		allow                   bool
	}{
		{"alice", authz.ActionSelect, "clinical", "subjects", true},   // group's managed policy, default version v2
		{"alice", authz.ActionSelect, "clinical", "vitals", false},    // only v1 (not default) and an MFA-conditioned Allow grant it
		{"alice", authz.ActionDescribe, "clinical", "subjects", true}, // glue:GetTable
		{"alice", authz.ActionDescribe, "clinical", "secrets", false}, // the group's inline Deny
		{"alice", authz.ActionSelect, "sites", "S001", true},          // ${aws:PrincipalTag/site} with alice's tag
		{"alice", authz.ActionSelect, "sites", "S002", false},
		{"bob", authz.ActionDescribe, "clinical", "subjects", false}, // Deny kept without its Condition
		{"carol", authz.ActionSelect, "floe_audit", "queries", true}, // role auditor, trust names carol
		{"alice", authz.ActionSelect, "floe_audit", "queries", false},
		{"dave", authz.ActionInsert, "clinical", "subjects", true}, // role etl: account trust + dave's sts:AssumeRole
		{"alice", authz.ActionInsert, "clinical", "subjects", false},
		{"carol", authz.ActionInsert, "clinical", "subjects", false},
	}
	for _, c := range cases {
		d := p.Decide(authz.Request{Principal: c.user, Action: c.action, Resource: authz.Resource{Namespace: c.ns, Table: c.table}})
		if d.Allowed != c.allow {
			t.Errorf("%s %s %s.%s: allowed=%v, want %v (%s)", c.user, c.action, c.ns, c.table, d.Allowed, c.allow, d.Reason)
		}
	}

	var pj struct {
		Users map[string]struct {
			Groups, Roles, Policies []string
			Tags                    map[string]string
		}
		Roles map[string]struct {
			Tags     map[string]string
			Policies []string
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, authz.PrincipalsFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &pj); err != nil {
		t.Fatal(err)
	}
	if a := pj.Users["alice"]; a.Tags["site"] != "S001" || a.Tags["team"] != "trials" || strings.Join(a.Groups, ",") != "analysts" || len(a.Roles) != 0 {
		t.Errorf("alice = %+v", a)
	}
	if r := pj.Roles["auditor"]; r.Tags["dept"] != "audit" || strings.Join(r.Policies, ",") != "audit-read" {
		t.Errorf("role auditor = %+v", r)
	}
	if got := strings.Join(pj.Users["dave"].Roles, ","); got != "etl" {
		t.Errorf("dave holds roles %q, want etl", got)
	}
	if got := strings.Join(pj.Users["carol"].Roles, ","); got != "auditor" {
		t.Errorf("carol holds roles %q, want auditor", got)
	}
	// Documents are kept as they are: the S3 statement is still there.
	if raw, err := os.ReadFile(filepath.Join(dir, "policies", "clinical-read.json")); err != nil || !strings.Contains(string(raw), "arn:aws:s3:::clinical-raw/*") {
		t.Errorf("policies/clinical-read.json: %v\n%s", err, raw)
	}
	if _, err := os.Stat(filepath.Join(dir, "policies", "unattached.json")); err != nil {
		t.Errorf("customer managed policy not attached to anyone is not written: %v", err)
	}

	notes := make([]string, len(res.Notes))
	for i, n := range res.Notes {
		notes[i] = n.String()
	}
	all := strings.Join(notes, "\n")
	for _, want := range []string{
		`skipped: managed policy "clinical-read" statement "WithMfa" (#3): dropped, floe cannot express it`,
		`skipped: inline policy "regional" of user "bob" statement "OutsideEU" (#2): Deny kept without its Condition`,
		`info: role "lambda-exec": assumed through a service or identity provider only`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("notes lack %q:\n%s", want, all)
		}
	}
	if !snap.LakeFormation || snap.LakeFormationErr != nil {
		t.Errorf("Lake Formation not read from moto: %v", snap.LakeFormationErr)
	}

	// A second import into the same directory is refused without force.
	if err := res.Write(dir, false, awsimport.Options{}); err == nil {
		t.Error("Write into a non-empty directory without force succeeded")
	}
	if err := res.Write(dir, true, awsimport.Options{}); err != nil {
		t.Errorf("Write with force: %v", err)
	}
}
