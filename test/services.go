package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// service is one test/services service (kafka, kafka-secure, registry) run
// in a state directory of its own (FLOE_SERVICES_DIR), so that tests and
// test processes never share one by accident.
type service struct {
	name string
	dir  string
}

// run runs `test/services VERB NAME` and returns what it printed.
func (s service) run(verb string) (string, error) {
	_, file, _, _ := runtime.Caller(0)
	cmd := exec.Command(filepath.Join(filepath.Dir(file), "services"), verb, s.name)
	cmd.Env = append(os.Environ(), "FLOE_SERVICES_DIR="+s.dir)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// up starts the service and returns the KEY=VALUE lines it printed; every
// key of want must be among them.
func (s service) up(want ...string) (map[string]string, error) {
	out, err := s.run("up")
	if err != nil {
		return nil, fmt.Errorf("test/services up %s: %v\n%s", s.name, err, out)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			vars[k] = v
		}
	}
	for _, k := range want {
		if vars[k] == "" {
			return nil, fmt.Errorf("test/services up %s printed no %s line:\n%s", s.name, k, out)
		}
	}
	return vars, nil
}

// mustStartService starts a service for tb alone, stopped and removed at
// cleanup, and returns its KEY=VALUE lines.
func mustStartService(tb testing.TB, name string, want ...string) (service, map[string]string) {
	tb.Helper()
	s := service{name: name, dir: tb.TempDir()}
	tb.Cleanup(func() {
		if out, err := s.run("down"); err != nil {
			tb.Logf("test/services down %s: %v\n%s", name, err, out)
		}
	})
	vars, err := s.up(want...)
	if err != nil {
		tb.Fatal(err)
	}
	return s, vars
}

// sharedService is a service started once per test process, by the first
// test that asks for it, and stopped by Main; its address may come from the
// environment instead.
type sharedService struct {
	name   string
	envVar string   // the address variable: taken from the environment when set there
	tools  []string // what starting it needs
	why    string   // what to install, for the error when a tool is missing

	once sync.Once
	svc  *service
	addr string
	err  error
}

// get returns the service's address, starting it on first use.
func (s *sharedService) get(tb testing.TB) string {
	tb.Helper()
	s.once.Do(func() {
		if a := os.Getenv(s.envVar); a != "" {
			s.addr = a
			return
		}
		for _, tool := range s.tools {
			if _, err := exec.LookPath(tool); err != nil {
				s.err = fmt.Errorf("%s is not installed: %s", tool, s.why)
				return
			}
		}
		dir, err := os.MkdirTemp("", "floe-e2e-"+s.name+"-")
		if err != nil {
			s.err = err
			return
		}
		s.svc = &service{name: s.name, dir: dir}
		vars, err := s.svc.up(s.envVar)
		s.addr, s.err = vars[s.envVar], err
	})
	if s.err != nil {
		tb.Fatalf("%s: %v", s.name, s.err)
	}
	return s.addr
}

// stop stops the service if this process started it.
func (s *sharedService) stop() {
	if s.svc == nil {
		return
	}
	if out, err := s.svc.run("down"); err != nil {
		fmt.Fprintf(os.Stderr, "test/services down %s: %v\n%s", s.name, err, out)
	}
	os.RemoveAll(s.svc.dir)
}
