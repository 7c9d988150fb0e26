package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPolicyCommands(t *testing.T) {
	dir := "../../examples/policies/clinical"
	var out bytes.Buffer
	if err := run([]string{"policy", "check", "--policy-dir", dir}, nil, &out, &out); err != nil || !strings.Contains(out.String(), "is valid") {
		t.Fatalf("check: %v %s", err, out.String())
	}
	out.Reset()
	if err := run([]string{"policy", "compile", "--policy-dir", dir}, nil, &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[matchers]", "g, user:alice, role:site-investigator", "p, role:site-investigator, floe:Select, arn:floe:datafilter/clinical/*/own_site, allow"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("compile output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	err := run([]string{"policy", "explain", "--policy-dir", dir, "--user", "alice", "--action", "floe:Select", "--table", "clinical.subjects", "--source-ip", "10.0.0.5"}, nil, &out, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"decision: ALLOW", "policies/site-rows.json#OwnSiteRows", `rows:     site_id = "S001"`, "columns:  all columns except treatment_arm", "through data filters own_site"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("explain output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := run([]string{"policy", "explain", "--policy-dir", dir, "--user", "carol", "--table", "clinical.subjects", "--source-ip", "203.0.113.1"}, nil, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "decision: DENY") || !strings.Contains(out.String(), "explicitly denied by policies/deny-off-network.json#DenyOffNetwork") {
		t.Fatalf("explain deny:\n%s", out.String())
	}
	if strings.Contains(out.String(), "clinical-demo-salt") {
		t.Fatal("salt printed")
	}
}

func TestPolicyCheckNamesFileAndStatement(t *testing.T) {
	data := t.TempDir()
	pol := filepath.Join(data, "policy", "policies")
	os.MkdirAll(pol, 0o755)
	os.WriteFile(filepath.Join(pol, "bad.json"), []byte(`{"Version":"2012-10-17","Statement":[{"Sid":"Oops","Effect":"Allow","Action":"floe:Selectt","Resource":"*"}]}`), 0o644)
	var out bytes.Buffer
	err := run([]string{"policy", "check", "--data", data}, nil, &out, &out)
	if err == nil || !strings.Contains(err.Error(), `policies/bad.json: statement "Oops" (#1): unknown action "floe:Selectt"`) {
		t.Fatalf("check: %v", err)
	}
}
