package test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestLayering holds the dependency direction of DESIGN.md: which floe
// packages each package may import.
func TestLayering(t *testing.T) {
	const mod = "github.com/floe-dev/floe/"
	allowed := map[string][]string{
		"sqlstate":        {},
		"examples":        {},
		"scram":           {},
		"pgwire":          {"sqlstate", "scram"},
		"catalog":         {"sqlstate"},
		"authz":           {"sqlstate", "scram"},
		"authz/awsimport": {"authz", "sqlstate", "scram"},
		"ingest":          {"catalog", "sqlstate"},
		"maintain":        {"catalog", "sqlstate"},
		// Another writer of floe's tables, for tests only (its package doc).
		"internal/icebergtest": {},
		"gateway":              {"catalog", "authz", "pgwire", "sqlstate", "scram"},
	}
	// Third-party imports a package must not have.
	forbidden := map[string][]string{
		"pgwire":  {"github.com/duckdb/", "github.com/apache/iceberg-go"},
		"authz":   {"github.com/duckdb/", "github.com/apache/iceberg-go"},
		"catalog": {"github.com/duckdb/", "github.com/jackc/pgx"},
		"ingest":  {"github.com/duckdb/"},
	}
	for pkg, ok := range allowed {
		out, err := exec.Command("go", "list", "-json", "../"+pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		var info struct{ Deps []string }
		if err := json.Unmarshal(out, &info); err != nil {
			t.Fatal(err)
		}
		for _, dep := range info.Deps {
			if name, isFloe := strings.CutPrefix(dep, mod); isFloe {
				if !contains(ok, name) {
					t.Errorf("%s imports floe package %s; it may import only %v", pkg, name, ok)
				}
				continue
			}
			for _, f := range forbidden[pkg] {
				if strings.HasPrefix(dep, f) {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}
