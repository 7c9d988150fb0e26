package test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const driverItems = `{"id":1,"name":"ann","score":1.5,"seen_at":"2024-01-15T10:00:00Z"}
{"id":2,"name":"bob","score":2.25,"seen_at":"2024-02-20T11:30:00Z"}
{"id":3,"name":"zed","score":3.75,"seen_at":"2024-03-01T00:00:00Z"}
{"id":4,"name":"eve","score":-4.5,"seen_at":"2024-04-10T23:59:59Z"}
`

// TestJDBC builds testdata/jdbc with Maven and runs it with java: PgJDBC
// connects, runs a prepared statement with parameters past its
// prepareThreshold, reads rows, and lists tables, columns and schemas
// through DatabaseMetaData.
func TestJDBC(t *testing.T) {
	f := Shared(t)
	f.MustPush(t, "e2e_jdbc", "items", driverItems)
	dir, err := filepath.Abs(filepath.Join("testdata", "jdbc"))
	if err != nil {
		t.Fatal(err)
	}
	mustBuildJDBCCheck(t, dir)
	java := execCommand(t, MustTool(t, "java"), "-cp",
		filepath.Join(dir, "target", "classes")+":"+filepath.Join(dir, "target", "lib", "*"), "floe.e2e.JdbcCheck")
	java.Env = append(java.Env,
		"E2E_JDBC_URL=jdbc:postgresql://"+f.PGAddr+"/"+Database+"?sslmode=disable&connectTimeout=10",
		"E2E_USER="+f.User, "E2E_PASSWORD="+f.Password)
	out, err := java.CombinedOutput()
	if err != nil {
		t.Fatalf("java JdbcCheck: %v\n%s", err, out)
	}
	rows := "row 2 bob 2.25 2024-02-20T11:30Z\nrow 4 eve -4.5 2024-04-10T23:59:59Z\n"
	want := "product PostgreSQL\n" + rows + rows +
		"before february 1\n" +
		"statement 2\n" +
		"table e2e_jdbc.items TABLE\n" +
		"column id int8 1\ncolumn name text 2\ncolumn score float8 3\ncolumn seen_at timestamptz 4\n" +
		"schema e2e_jdbc\n"
	if string(out) != want {
		t.Errorf("JdbcCheck printed\n%s\nwant\n%s", out, want)
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, "error ") {
				t.Errorf("JDBC check failed: %s", strings.TrimPrefix(line, "error "))
			}
		}
	}
}

// mustBuildJDBCCheck runs `mvn package` in dir unless scripts/test.sh (or an
// earlier run) already built the current sources.
func mustBuildJDBCCheck(t *testing.T, dir string) {
	t.Helper()
	mtime := func(p string) time.Time {
		fi, err := os.Stat(p)
		if err != nil {
			return time.Time{}
		}
		return fi.ModTime()
	}
	jars, _ := filepath.Glob(filepath.Join(dir, "target", "lib", "postgresql-*.jar"))
	sources, _ := filepath.Glob(filepath.Join(dir, "src", "main", "java", "floe", "e2e", "*.java"))
	upToDate := len(jars) == 1 && len(sources) > 0
	for _, src := range sources {
		class := filepath.Join(dir, "target", "classes", "floe", "e2e", strings.TrimSuffix(filepath.Base(src), ".java")+".class")
		built := mtime(class)
		if built.IsZero() || built.Before(mtime(filepath.Join(dir, "pom.xml"))) || built.Before(mtime(src)) {
			upToDate = false
		}
	}
	if upToDate {
		return
	}
	mvn := execCommand(t, MustTool(t, "mvn"), "-B", "-q", "-f", filepath.Join(dir, "pom.xml"), "clean", "package")
	if out, err := mvn.CombinedOutput(); err != nil {
		t.Fatalf("mvn package in %s failed (scripts/test.sh runs it first, with the network to resolve PgJDBC): %v\n%s", dir, err, out)
	}
}

// TestPython runs testdata/python/client_check.py: psycopg 3 (parameterized
// and prepared queries, text and binary results, an error and rollback) and
// SQLAlchemy (create_engine with postgresql+psycopg, text() with a bound
// parameter, the inspector's table list), once as configured by default and
// once without the dialect's hstore lookup (which runs in a SAVEPOINT).
func TestPython(t *testing.T) {
	f := Shared(t)
	f.MustPush(t, "e2e_py", "items", driverItems)
	python := MustTool(t, "python3")
	if out, err := exec.Command(python, "-c", "import psycopg, sqlalchemy").CombinedOutput(); err != nil {
		t.Fatalf("psycopg or SQLAlchemy is not importable by %s (scripts/test.sh installs them: "+
			"pip install 'psycopg[binary]' sqlalchemy): %v\n%s", python, err, out)
	}
	cmd := f.Command(t, "python3", filepath.Join("testdata", "python", "client_check.py"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("client_check.py: %v\n%s%s", err, out, stderr.String())
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("client_check.py printed %q: %v", out, err)
	}
	var want map[string]map[string]any
	if err := json.Unmarshal([]byte(`{
		"psycopg": {
			"server_version_reported": true,
			"rows": {
				"columns": ["id", "name", "score", "seen_at"],
				"rows": [[2, "bob", 2.25, "2024-02-20T11:30:00+00:00"], [4, "eve", -4.5, "2024-04-10T23:59:59+00:00"]]
			},
			"prepared": [3, 2, 1],
			"timestamp_parameter": 1,
			"typed_echo": ["héllo!", 42],
			"null_parameter": true,
			"binary": [1, "ann", 1.5],
			"error_then_rollback": {"error": "42P01", "after": 1}
		},
		"sqlalchemy": {
			"rows": [[1, "ann"], [2, "bob"]],
			"scalar": 4,
			"tables": ["items"]
		},
		"sqlalchemy_no_hstore": {
			"rows": [[1, "ann"], [2, "bob"]],
			"scalar": 4,
			"tables": ["items"]
		}
	}`), &want); err != nil {
		t.Fatal(err)
	}
	for part, checks := range want {
		gotPart, _ := got[part].(map[string]any)
		for name, w := range checks {
			if g := gotPart[name]; !reflect.DeepEqual(g, w) {
				gj, _ := json.Marshal(g)
				wj, _ := json.Marshal(w)
				t.Errorf("%s %s: got %s, want %s", part, name, gj, wj)
			}
		}
		for name, g := range gotPart {
			if _, ok := checks[name]; !ok {
				gj, _ := json.Marshal(g)
				t.Errorf("%s: unexpected %s: %s", part, name, gj)
			}
		}
	}
}

// policySubjects are clinical.subjects rows for the driver checks under the
// example policy: alice (site S001) sees 101 and 102; the hidden S002 row
// has an id a failing cast would quote.
const policySubjects = `{"subject_id":"101","site_id":"S001","treatment_arm":"high_dose","age":40}
{"subject_id":"102","site_id":"S001","treatment_arm":"placebo","age":50}
{"subject_id":"SECRET-3","site_id":"S002","treatment_arm":"placebo","age":60}
`

// TestDriversUnderPolicy runs PgJDBC (testdata/jdbc PolicyCheck) and
// psycopg + SQLAlchemy (testdata/python/policy_check.py) as alice of the
// clinical example policy: each sees her site's rows only, no treatment
// arm anywhere (results, metadata), 42501 when she names it, and a cast
// that would fail on the hidden row succeeds — through simple, extended
// and server-prepared statements alike.
func TestDriversUnderPolicy(t *testing.T) {
	dir := MustClinicalDataDir(t, "alice")
	f := MustStartFloe(t, WithDataDir(dir))
	f.MustPush(t, "clinical", "subjects", policySubjects)

	t.Run("PgJDBC", func(t *testing.T) {
		jdbc, err := filepath.Abs(filepath.Join("testdata", "jdbc"))
		if err != nil {
			t.Fatal(err)
		}
		mustBuildJDBCCheck(t, jdbc)
		java := execCommand(t, MustTool(t, "java"), "-cp",
			filepath.Join(jdbc, "target", "classes")+":"+filepath.Join(jdbc, "target", "lib", "*"), "floe.e2e.PolicyCheck")
		java.Env = append(java.Env,
			"E2E_JDBC_URL=jdbc:postgresql://"+f.PGAddr+"/"+Database+"?sslmode=disable&connectTimeout=10",
			"E2E_USER=alice", "E2E_PASSWORD=alice-password")
		out, err := java.CombinedOutput()
		if err != nil {
			t.Fatalf("java PolicyCheck: %v\n%s", err, out)
		}
		want := "columns subject_id site_id age\nrow 101 S001\nrow 102 S001\n" +
			"prepared 2 2 2 2 2\ncast 203\nexcluded 42501\nmetadata subject_id site_id age\n"
		if string(out) != want {
			t.Errorf("PolicyCheck printed\n%s\nwant\n%s", out, want)
		}
	})
	t.Run("psycopg", func(t *testing.T) {
		cmd := f.CommandAs(t, "alice", "alice-password", "python3", filepath.Join("testdata", "python", "policy_check.py"))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("policy_check.py: %v\n%s%s", err, out, stderr.String())
		}
		want := `{"cast": 203, "columns": ["subject_id", "site_id", "age"], "excluded": "42501", ` +
			`"inspector": {"columns": ["subject_id", "site_id", "age"], "tables": ["subjects"]}, ` +
			`"parameterized": [2, 1, 2], "select": {"columns": ["subject_id", "site_id", "age"], ` +
			`"rows": [["101", "S001", 40], ["102", "S001", 50]]}}`
		if strings.TrimSpace(string(out)) != want {
			t.Errorf("policy_check.py printed\n%s\nwant\n%s", out, want)
		}
	})
}
