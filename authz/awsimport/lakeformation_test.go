package awsimport_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
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

// moto has no Lake Formation data cells filters, so the Lake Formation
// side is tested against response bodies written to the AWS service model
// (lakeformation REST-JSON: POST /ListDataCellsFilter, POST /ListPermissions,
// paginated by NextToken), served by an httptest server and read through
// the real SDK client.
var lfPages = map[string][]string{
	"/ListDataCellsFilter": {`{
  "DataCellsFilters": [
    {"TableCatalogId": "123456789012", "DatabaseName": "clinical", "TableName": "subjects", "Name": "own_site",
     "RowFilter": {"FilterExpression": "site_id = 'S001' OR (site_id IN ('S002', 'S003') AND country = 'FR')"},
     "ColumnWildcard": {"ExcludedColumnNames": ["treatment_arm", "initials"]}, "VersionId": "3"},
    {"TableCatalogId": "123456789012", "DatabaseName": "clinical", "TableName": "subjects", "Name": "adults",
     "RowFilter": {"FilterExpression": "age >= 18"},
     "ColumnNames": ["subject_id"]}
  ],
  "NextToken": "page2"
}`, `{
  "DataCellsFilters": [
    {"TableCatalogId": "123456789012", "DatabaseName": "clinical", "TableName": "vitals", "Name": "all_rows_some_cols",
     "RowFilter": {"AllRowsWildcard": {}},
     "ColumnNames": ["subject_id", "pulse"]},
    {"TableCatalogId": "123456789012", "DatabaseName": "clinical", "TableName": "vitals", "Name": "study_7",
     "RowFilter": {"FilterExpression": "\"study\" = 7"},
     "ColumnWildcard": {}}
  ]
}`},
	"/ListPermissions": {`{
  "PrincipalResourcePermissions": [
    {"Principal": {"DataLakePrincipalIdentifier": "arn:aws:iam::123456789012:user/alice"},
     "Resource": {"DataCellsFilter": {"TableCatalogId": "123456789012", "DatabaseName": "clinical", "TableName": "subjects", "Name": "own_site"}},
     "Permissions": ["SELECT"], "PermissionsWithGrantOption": []},
    {"Principal": {"DataLakePrincipalIdentifier": "arn:aws:iam::123456789012:user/alice"},
     "Resource": {"DataCellsFilter": {"TableCatalogId": "123456789012", "DatabaseName": "clinical", "TableName": "subjects", "Name": "adults"}},
     "Permissions": ["SELECT"], "PermissionsWithGrantOption": []},
    {"Principal": {"DataLakePrincipalIdentifier": "arn:aws:iam::123456789012:role/monitor"},
     "Resource": {"Table": {"CatalogId": "123456789012", "DatabaseName": "clinical", "TableWildcard": {}}},
     "Permissions": ["DESCRIBE"], "PermissionsWithGrantOption": []}
  ],
  "NextToken": "page2"
}`, `{
  "PrincipalResourcePermissions": [
    {"Principal": {"DataLakePrincipalIdentifier": "arn:aws:iam::123456789012:role/monitor"},
     "Resource": {"TableWithColumns": {"CatalogId": "123456789012", "DatabaseName": "clinical", "Name": "vitals", "ColumnNames": ["subject_id", "visit"]}},
     "Permissions": ["SELECT"], "PermissionsWithGrantOption": []},
    {"Principal": {"DataLakePrincipalIdentifier": "arn:aws:iam::123456789012:user/bob"},
     "Resource": {"Table": {"CatalogId": "123456789012", "DatabaseName": "clinical", "Name": "vitals"}},
     "Permissions": ["SELECT", "DELETE"], "PermissionsWithGrantOption": ["SELECT"]},
    {"Principal": {"DataLakePrincipalIdentifier": "arn:aws:iam::123456789012:user/bob"},
     "Resource": {"DataCellsFilter": {"TableCatalogId": "123456789012", "DatabaseName": "clinical", "TableName": "vitals", "Name": "study_7"}},
     "Permissions": ["SELECT"], "PermissionsWithGrantOption": []},
    {"Principal": {"DataLakePrincipalIdentifier": "arn:aws:iam::123456789012:user/bob"},
     "Resource": {"Table": {"CatalogId": "123456789012", "DatabaseName": "clinical", "Name": "subjects"}},
     "Permissions": ["SELECT"], "PermissionsWithGrantOption": [],
     "Condition": {"Expression": "context.region == 'eu-west-1'"}},
    {"Principal": {"DataLakePrincipalIdentifier": "IAM_ALLOWED_PRINCIPALS"},
     "Resource": {"Database": {"CatalogId": "123456789012", "Name": "clinical"}},
     "Permissions": ["ALL"], "PermissionsWithGrantOption": []},
    {"Principal": {"DataLakePrincipalIdentifier": "arn:aws:iam::123456789012:saml-provider/corp:group/stats"},
     "Resource": {"Table": {"CatalogId": "123456789012", "DatabaseName": "clinical", "Name": "vitals"}},
     "Permissions": ["SELECT"], "PermissionsWithGrantOption": []},
    {"Principal": {"DataLakePrincipalIdentifier": "arn:aws:iam::123456789012:user/alice"},
     "Resource": {"LFTagPolicy": {"CatalogId": "123456789012", "ResourceType": "TABLE", "Expression": [{"TagKey": "level", "TagValues": ["public"]}]}},
     "Permissions": ["SELECT"], "PermissionsWithGrantOption": []}
  ]
}`},
}

// mustServeLakeFormation serves lfPages, one page per NextToken.
func mustServeLakeFormation(tb testing.TB) string {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pages, ok := lfPages[r.URL.Path]
		if r.Method != http.MethodPost || !ok {
			w.Header().Set("X-Amzn-Errortype", "UnknownOperationException")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"message": "unknown operation"}`)
			return
		}
		var in struct{ NextToken string }
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &in)
		page := pages[0]
		if in.NextToken == "page2" {
			page = pages[1]
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, page)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL
}

// iamStub answers GetAccountAuthorizationDetails with three principals.
type iamStub struct{}

func (iamStub) GetAccountAuthorizationDetails(context.Context, *iam.GetAccountAuthorizationDetailsInput, ...func(*iam.Options)) (*iam.GetAccountAuthorizationDetailsOutput, error) {
	user := func(n string) iamtypes.UserDetail {
		return iamtypes.UserDetail{UserName: aws.String(n), Arn: aws.String("arn:aws:iam::123456789012:user/" + n)}
	}
	return &iam.GetAccountAuthorizationDetailsOutput{
		UserDetailList: []iamtypes.UserDetail{user("alice"), user("bob"), user("carol")},
		RoleDetailList: []iamtypes.RoleDetail{{RoleName: aws.String("monitor"), Arn: aws.String("arn:aws:iam::123456789012:role/monitor"),
			AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"arn:aws:iam::123456789012:user/carol"}}]}`)}},
	}, nil
}

func TestImportLakeFormation(t *testing.T) {
	cfg := awstest.Config(mustServeLakeFormation(t))
	snap, err := awsimport.Fetch(context.Background(), iamStub{}, lakeformation.NewFromConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if snap.LakeFormationErr != nil || len(snap.DataCellsFilters) != 4 || len(snap.Permissions) != 10 {
		t.Fatalf("fetched %d filters, %d permissions (%v); want 4 and 10 over two pages each", len(snap.DataCellsFilters), len(snap.Permissions), snap.LakeFormationErr)
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
		t.Fatal(err)
	}
	decide := func(user, action, ns, table string) authz.Decision {
		return p.Decide(authz.Request{Principal: user, Action: action, Resource: authz.Resource{Namespace: ns, Table: table}})
	}

	// alice: through own_site only (adults is skipped: >= is not mapped).
	d := decide("alice", authz.ActionSelect, "clinical", "subjects")
	if !d.Allowed || d.WholeTable || strings.Join(d.Filters, ",") != "own_site" {
		t.Fatalf("alice on subjects: %+v", d)
	}
	if got, want := d.RowFilter.String(), `site_id = "S001" OR (site_id IN ("S002", "S003") AND country = "FR")`; got != want {
		t.Errorf("alice's row filter = %s, want %s", got, want)
	}
	if got := d.Columns.String(); got != "all columns except initials, treatment_arm" {
		t.Errorf("alice's columns = %s", got)
	}
	// carol holds role monitor: Describe on every clinical table, and the
	// column grant on vitals as a data filter with no row filter.
	if d := decide("carol", authz.ActionDescribe, "clinical", "anything"); !d.Allowed {
		t.Errorf("carol Describe clinical.anything: %s", d.Reason)
	}
	d = decide("carol", authz.ActionSelect, "clinical", "vitals")
	if !d.Allowed || d.RowFilter != nil || d.Columns.String() != "only subject_id, visit" {
		t.Errorf("carol on vitals: allowed=%v rows=%s columns=%s", d.Allowed, d.RowFilter, d.Columns.String())
	}
	// bob: the whole vitals table (DELETE has no counterpart); the
	// conditional grant on subjects is not imported.
	if d := decide("bob", authz.ActionSelect, "clinical", "vitals"); !d.Allowed || !d.WholeTable {
		t.Errorf("bob on vitals: %+v", d)
	}
	if d := decide("bob", authz.ActionSelect, "clinical", "subjects"); d.Allowed {
		t.Errorf("bob on subjects allowed: %s", d.Reason)
	}
	// The numeric literal and the quoted column of study_7.
	raw, err := os.ReadFile(filepath.Join(dir, "filters", "clinical.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"row_filter": {
        "column": "study",
        "op": "=",
        "value": 7
      }`) {
		t.Errorf("filters/clinical.json:\n%s", raw)
	}

	all := ""
	for _, n := range res.Notes {
		all += n.String() + "\n"
	}
	for _, want := range []string{
		`skipped: data cells filter clinical.subjects/adults: row filter "age >= 18": unsupported ">=" after column age`,
		`skipped: Lake Formation grant to arn:aws:iam::123456789012:user/alice on data cells filter clinical.subjects/adults: the data cells filter was not imported`,
		`skipped: Lake Formation grant to arn:aws:iam::123456789012:user/bob on table clinical.subjects: the grant has a condition`,
		`skipped: Lake Formation grant to arn:aws:iam::123456789012:user/bob on table clinical.vitals: permissions DELETE have no floe counterpart`,
		`skipped: Lake Formation grant to arn:aws:iam::123456789012:saml-provider/corp:group/stats on table clinical.vitals: the principal is no IAM user or role`,
		`skipped: Lake Formation grant to arn:aws:iam::123456789012:user/alice on LF-tags: floe has no counterpart`,
		`info: Lake Formation grant to IAM_ALLOWED_PRINCIPALS on database clinical: IAM_ALLOWED_PRINCIPALS`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("notes lack %q:\n%s", want, all)
		}
	}
}

// An endpoint without Lake Formation still imports IAM, with a note.
func TestImportWithoutLakeFormation(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Amzn-Errortype", "AccessDeniedException")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"message": "not authorized"}`)
	}))
	defer srv.Close()
	snap, err := awsimport.Fetch(context.Background(), iamStub{}, lakeformation.NewFromConfig(awstest.Config(srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	res, err := awsimport.Map(snap, awsimport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Notes) == 0 || !strings.Contains(res.Notes[0].String(), "skipped: Lake Formation: not read") || !strings.Contains(res.Notes[0].String(), "AccessDenied") {
		t.Errorf("notes: %v", res.Notes)
	}
}
