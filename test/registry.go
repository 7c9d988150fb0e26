package test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// The schema registry is started once per test process by the first test
// that asks for it (test/services up registry) and stopped by Main.
var schemaRegistry struct {
	once     sync.Once
	url      string
	stateDir string
	script   string
	err      error
}

// MustSchemaRegistry returns the base URL of a real Confluent-compatible
// schema registry (Apicurio Registry's ccompat API, compatibility BACKWARD):
// $SCHEMA_REGISTRY_URL when set, otherwise one started with `test/services
// up registry` for this test process. It fails tb, saying what to install,
// when java or mvn is missing or the registry does not start.
func MustSchemaRegistry(tb testing.TB) string {
	tb.Helper()
	schemaRegistry.once.Do(func() {
		if u := os.Getenv("SCHEMA_REGISTRY_URL"); u != "" {
			schemaRegistry.url = u
			return
		}
		for _, tool := range []string{"java", "mvn", "curl"} {
			if _, err := exec.LookPath(tool); err != nil {
				schemaRegistry.err = fmt.Errorf("%s is not installed: the Avro tests run a real schema registry built from Maven Central jars "+
					"(apt-get install openjdk-17-jdk-headless maven curl, or run scripts/test.sh)", tool)
				return
			}
		}
		_, file, _, _ := runtime.Caller(0)
		schemaRegistry.script = filepath.Join(filepath.Dir(file), "services")
		dir, err := os.MkdirTemp("", "floe-e2e-registry-")
		if err != nil {
			schemaRegistry.err = err
			return
		}
		schemaRegistry.stateDir = dir
		cmd := exec.Command(schemaRegistry.script, "up", "registry")
		cmd.Env = append(os.Environ(), "FLOE_SERVICES_DIR="+dir)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			schemaRegistry.err = fmt.Errorf("test/services up registry: %v\n%s", err, stderr.String())
			return
		}
		for _, line := range strings.Split(string(out), "\n") {
			if u, ok := strings.CutPrefix(line, "SCHEMA_REGISTRY_URL="); ok {
				schemaRegistry.url = strings.TrimSpace(u)
			}
		}
		if schemaRegistry.url == "" {
			schemaRegistry.err = fmt.Errorf("test/services up registry printed no SCHEMA_REGISTRY_URL line:\n%s%s", out, stderr.String())
		}
	})
	if schemaRegistry.err != nil {
		tb.Fatalf("schema registry: %v", schemaRegistry.err)
	}
	return schemaRegistry.url
}

// stopRegistry stops the registry MustSchemaRegistry started, if any.
func stopRegistry() {
	if schemaRegistry.stateDir == "" {
		return
	}
	cmd := exec.Command(schemaRegistry.script, "down", "registry")
	cmd.Env = append(os.Environ(), "FLOE_SERVICES_DIR="+schemaRegistry.stateDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "test/services down registry: %v\n%s", err, out)
	}
	os.RemoveAll(schemaRegistry.stateDir)
}

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
