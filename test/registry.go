package test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// The schema registry is started once per test process by the first test
// that asks for it (test/services up registry) and stopped by Main.
var schemaRegistry = &sharedService{name: "registry", envVar: "SCHEMA_REGISTRY_URL", tools: []string{"java", "mvn", "curl"},
	why: "the Avro tests run a real schema registry built from Maven Central jars (apt-get install openjdk-17-jdk-headless maven curl, or run scripts/test.sh)"}

// MustSchemaRegistry returns the base URL of a real Confluent-compatible
// schema registry (Apicurio Registry's ccompat API, compatibility BACKWARD):
// $SCHEMA_REGISTRY_URL when set, otherwise one started with `test/services
// up registry` for this test process. It fails tb, saying what to install,
// when java or mvn is missing or the registry does not start.
func MustSchemaRegistry(tb testing.TB) string {
	tb.Helper()
	return schemaRegistry.get(tb)
}

// stopRegistry stops the registry MustSchemaRegistry started, if any.
func stopRegistry() { schemaRegistry.stop() }

// RegisterSchema registers an Avro schema under subject through the
// registry's REST API. It returns the schema id, or the HTTP status and
// body of a refusal (an incompatible schema: 409).
func RegisterSchema(tb testing.TB, registryURL, subject, schema string) (int, int, string) {
	tb.Helper()
	body, _ := json.Marshal(map[string]string{"schema": schema})
	req, err := http.NewRequest(http.MethodPost, registryURL+"/subjects/"+subject+"/versions", bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("register schema under %s: %v", subject, err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return 0, resp.StatusCode, string(text)
	}
	var out struct {
		ID int `json:"id"`
	}
	if err := json.Unmarshal(text, &out); err != nil {
		tb.Fatalf("register schema under %s: %s: %v", subject, text, err)
	}
	return out.ID, resp.StatusCode, ""
}

// MustRegisterSchema is RegisterSchema that fails tb on a refusal.
func MustRegisterSchema(tb testing.TB, registryURL, subject, schema string) int {
	tb.Helper()
	id, status, body := RegisterSchema(tb, registryURL, subject, schema)
	if status != http.StatusOK {
		tb.Fatalf("register schema under %s: HTTP %d: %s", subject, status, body)
	}
	return id
}
