package test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// AdminUser is the admin principal every started floe has.
const AdminUser = "admin"

// DefaultPassword is the admin password MustStartFloe sets unless
// WithPassword says otherwise.
const DefaultPassword = "e2e-Secret-pw-7"

// Database is the one database floe serves.
const Database = "floe"

// Floe is one running `floe serve` process.
type Floe struct {
	DataDir  string // absolute data directory (catalog.db, warehouse/)
	PGAddr   string // host:port of the PostgreSQL wire listener
	HTTPAddr string // host:port of the HTTP listener
	User     string
	Password string

	cmd     *exec.Cmd
	log     *syncBuffer
	exited  chan struct{} // closed when the process has exited
	exitErr error         // valid after exited is closed
	stopped sync.Once
}

// Option configures a floe before it starts.
type Option func(*config)

type config struct {
	command    string // serve (default) or demo
	password   string
	env        map[string]string
	dataDir    string
	configFile string
}

// WithConfigFile passes --config FILE to floe serve.
func WithConfigFile(path string) Option {
	return func(c *config) { c.configFile = path }
}

// WithEnv sets an environment variable of the floe process (FLOE_* settings).
func WithEnv(name, value string) Option {
	return func(c *config) { c.env[name] = value }
}

// WithMaxBodyBytes sets FLOE_MAX_BODY_BYTES.
func WithMaxBodyBytes(n int64) Option {
	return WithEnv("FLOE_MAX_BODY_BYTES", strconv.FormatInt(n, 10))
}

// WithCommitInterval sets FLOE_COMMIT_INTERVAL.
func WithCommitInterval(d time.Duration) Option {
	return WithEnv("FLOE_COMMIT_INTERVAL", d.String())
}

// WithPassword sets FLOE_ADMIN_PASSWORD (default DefaultPassword).
func WithPassword(pw string) Option {
	return func(c *config) { c.password = pw }
}

// WithCommand runs `floe NAME` (serve or demo) instead of `floe serve`.
func WithCommand(name string) Option {
	return func(c *config) { c.command = name }
}

// WithDataDir serves an existing data directory instead of a new one.
func WithDataDir(dir string) Option {
	return func(c *config) { c.dataDir = dir }
}

// MustStartFloe starts a floe that belongs to tb: a new data directory under
// tb.TempDir(), free loopback ports, FLOE_ADMIN_PASSWORD set. It returns once
// /healthz answers and the PostgreSQL port accepts connections. At cleanup
// the process is stopped, and its log is printed if tb failed.
func MustStartFloe(tb testing.TB, opts ...Option) *Floe {
	tb.Helper()
	bin := MustBuildFloe(tb)
	cfg := newConfig(opts)
	if cfg.dataDir == "" {
		cfg.dataDir = tb.TempDir()
	}
	f, err := start(bin, cfg)
	if err != nil {
		tb.Fatalf("start floe: %v", err)
	}
	tb.Cleanup(func() {
		if err := f.Stop(); err != nil {
			tb.Logf("stop floe: %v", err)
		}
		if tb.Failed() {
			tb.Logf("floe log (%s):\n%s", f.DataDir, f.Log())
		}
	})
	return f
}

// Stop ends the process: SIGTERM, then SIGKILL if it has not exited within
// 15 seconds. It is safe to call more than once.
func (f *Floe) Stop() error {
	var err error
	f.stopped.Do(func() {
		select {
		case <-f.exited:
			err = fmt.Errorf("floe had already exited: %v", f.exitErr)
			return
		default:
		}
		_ = f.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-f.exited:
		case <-time.After(15 * time.Second):
			_ = f.cmd.Process.Kill()
			<-f.exited
			err = errors.New("floe did not stop within 15s of SIGTERM; killed")
		}
	})
	return err
}

// Kill ends the process with SIGKILL at once and waits for it to exit.
func (f *Floe) Kill() {
	f.stopped.Do(func() {
		_ = f.cmd.Process.Kill()
		<-f.exited
	})
}

// Exited reports whether the process has ended, and how.
func (f *Floe) Exited() (bool, error) {
	select {
	case <-f.exited:
		return true, f.exitErr
	default:
		return false, nil
	}
}

// PID is the process id of floe.
func (f *Floe) PID() int { return f.cmd.Process.Pid }

// Log returns what floe printed so far (stdout and stderr).
func (f *Floe) Log() string { return f.log.String() }

// Warehouse is the directory that holds the Iceberg tables' files.
func (f *Floe) Warehouse() string { return filepath.Join(f.DataDir, "warehouse") }

// URL is the HTTP URL of path on this floe.
func (f *Floe) URL(path string) string { return "http://" + f.HTTPAddr + path }

// PGHost and PGPort split PGAddr.
func (f *Floe) PGHost() string { h, _, _ := net.SplitHostPort(f.PGAddr); return h }
func (f *Floe) PGPort() string { _, p, _ := net.SplitHostPort(f.PGAddr); return p }

// ConnString is a libpq key/value connection string for the admin user.
func (f *Floe) ConnString() string {
	return fmt.Sprintf("host=%s port=%s user=%s password=%s dbname=%s sslmode=disable",
		f.PGHost(), f.PGPort(), f.User, f.Password, Database)
}

// MustPeakRSS returns the process's peak resident set size (VmHWM).
func (f *Floe) MustPeakRSS(tb testing.TB) int64 {
	tb.Helper()
	return mustProcStatus(tb, f.PID(), "VmHWM")
}

// MustRSS returns the process's current resident set size (VmRSS).
func (f *Floe) MustRSS(tb testing.TB) int64 {
	tb.Helper()
	return mustProcStatus(tb, f.PID(), "VmRSS")
}

func mustProcStatus(tb testing.TB, pid int, field string) int64 {
	tb.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatalf("read /proc/%d/status: %v", pid, err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				tb.Fatalf("parse %q: %v", line, err)
			}
			return kb << 10
		}
	}
	tb.Fatalf("/proc/%d/status has no %s", pid, field)
	return 0
}

func newConfig(opts []Option) config {
	c := config{command: "serve", password: DefaultPassword, env: map[string]string{}}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// start runs `floe serve` and waits until it serves. Ports are picked free
// just before the start; if another process takes one in between, the start
// is retried on new ports.
func start(bin string, cfg config) (*Floe, error) {
	if cfg.dataDir == "" {
		return nil, errors.New("no data directory")
	}
	dir, err := filepath.Abs(cfg.dataDir)
	if err != nil {
		return nil, err
	}
	var lastErr error
	for range 3 {
		f, err := startOnce(bin, dir, cfg)
		if err == nil {
			return f, nil
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, lastErr
}

func startOnce(bin, dir string, cfg config) (*Floe, error) {
	pgAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	httpAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	f := &Floe{DataDir: dir, PGAddr: pgAddr, HTTPAddr: httpAddr, User: AdminUser, Password: cfg.password,
		log: &syncBuffer{}, exited: make(chan struct{})}
	args := []string{cfg.command, "--data", dir, "--pg-addr", pgAddr, "--http-addr", httpAddr}
	if cfg.configFile != "" {
		args = append(args, "--config", cfg.configFile)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = childEnv(cfg)
	cmd.Stdout = f.log
	cmd.Stderr = f.log
	// Its own process group, so that a ^C to `go test` does not reach it
	// before the harness stops it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", bin, err)
	}
	f.cmd = cmd
	go func() {
		f.exitErr = cmd.Wait()
		close(f.exited)
	}()
	if err := f.waitReady(60 * time.Second); err != nil {
		_ = cmd.Process.Kill()
		<-f.exited
		return nil, fmt.Errorf("%w\nfloe log:\n%s", err, f.Log())
	}
	return f, nil
}

// waitReady polls /healthz and the PostgreSQL port.
func (f *Floe) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: time.Second}
	for {
		if done, err := f.Exited(); done {
			return fmt.Errorf("floe exited before it served: %v", err)
		}
		if healthy(client, f.URL("/healthz")) && accepts(f.PGAddr) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("floe did not serve /healthz and %s within %s", f.PGAddr, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func healthy(c *http.Client, url string) bool {
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func accepts(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// childEnv is the caller's environment without FLOE_* variables, plus the
// admin password and the options' variables.
func childEnv(cfg config) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FLOE_") {
			env = append(env, kv)
		}
	}
	env = append(env, "FLOE_ADMIN_PASSWORD="+cfg.password, "FLOE_LOG_LEVEL=info")
	for k, v := range cfg.env {
		env = append(env, k+"="+v)
	}
	return env
}

// The binary is built once per test process.
var build struct {
	once sync.Once
	dir  string // temporary directory of the built binary, removed by Main
	bin  string
	err  error
}

// MustBuildFloe returns the path of a floe binary built from this module's
// source (once per test process), or of $FLOE_BINARY when that is set.
func MustBuildFloe(tb testing.TB) string {
	tb.Helper()
	build.once.Do(func() {
		if b := os.Getenv("FLOE_BINARY"); b != "" {
			build.bin, build.err = filepath.Abs(b)
			return
		}
		_, file, _, ok := runtime.Caller(0)
		if !ok {
			build.err = errors.New("cannot locate the harness source to find the module")
			return
		}
		dir, err := os.MkdirTemp("", "floe-e2e-bin-")
		if err != nil {
			build.err = err
			return
		}
		build.dir = dir
		build.bin = filepath.Join(dir, "floe")
		cmd := exec.Command("go", "build", "-o", build.bin, "./cmd/floe")
		cmd.Dir = filepath.Dir(filepath.Dir(file)) // the module root
		out, err := cmd.CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build ./cmd/floe: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		tb.Fatalf("build floe: %v", build.err)
	}
	return build.bin
}

// The shared floe is started by the first test that asks for it and stopped
// by Main.
var shared struct {
	mu     sync.Mutex
	inMain bool
	f      *Floe
	dir    string
	err    error
}

// SharedCommitInterval is the shared floe's FLOE_COMMIT_INTERVAL: shorter
// than the default second, so that tests pushing several times to one table
// do not wait; a floe from MustStartFloe keeps the default.
const SharedCommitInterval = 100 * time.Millisecond

// Shared returns the floe that the tests of this process share, starting it
// on first use. Tests that use it must run through Main and keep to their own
// namespaces and tables.
func Shared(tb testing.TB) *Floe {
	tb.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.inMain {
		tb.Fatal("test.Shared needs the package's TestMain to call test.Main(m)")
	}
	if shared.f == nil && shared.err == nil {
		bin := MustBuildFloe(tb)
		dir, err := os.MkdirTemp("", "floe-e2e-data-")
		if err != nil {
			tb.Fatal(err)
		}
		shared.dir = dir
		shared.f, shared.err = start(bin, newConfig([]Option{WithDataDir(dir), WithCommitInterval(SharedCommitInterval)}))
	}
	if shared.err != nil {
		tb.Fatalf("start the shared floe: %v", shared.err)
	}
	if done, err := shared.f.Exited(); done {
		tb.Fatalf("the shared floe has exited (%v); its log:\n%s", err, shared.f.Log())
	}
	return shared.f
}

// Main runs the tests of a package that uses the harness, then stops the
// shared floe (printing its log if a test failed) and removes the binary it
// built.
func Main(m *testing.M) {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()
	code := m.Run()
	if f := shared.f; f != nil {
		if err := f.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stop the shared floe: %v\n", err)
		}
		if code != 0 {
			fmt.Fprintf(os.Stderr, "--- log of the shared floe (%s):\n%s\n", f.DataDir, f.Log())
		}
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	stopKafka()
	stopRegistry()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// syncBuffer is a bytes.Buffer safe for the process's two output streams
// and concurrent readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testContext returns a context that ends with the test or after d.
func testContext(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}

// Ingest is one running `floe ingest` process: Kafka streams only.
type Ingest struct {
	// HTTPAddr is where it serves /metrics and /healthz (a free port).
	HTTPAddr string

	cmd    *exec.Cmd
	log    *syncBuffer
	exited chan struct{}
	once   sync.Once
}

// MustStartIngest runs `floe ingest --config configFile --data dataDir`
// and returns once it consumes (it logged "kafka: consuming"). At cleanup
// it is stopped, and its log printed if tb failed.
func MustStartIngest(tb testing.TB, dataDir, configFile string) *Ingest {
	tb.Helper()
	bin := MustBuildFloe(tb)
	in := &Ingest{log: &syncBuffer{}, exited: make(chan struct{})}
	in.cmd = exec.Command(bin, "ingest", "--config", configFile, "--data", dataDir, "--http-addr", "127.0.0.1:0")
	in.cmd.Env = childEnv(newConfig(nil))
	in.cmd.Stdout, in.cmd.Stderr = in.log, in.log
	in.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := in.cmd.Start(); err != nil {
		tb.Fatalf("start floe ingest: %v", err)
	}
	go func() {
		in.cmd.Wait()
		close(in.exited)
	}()
	tb.Cleanup(func() {
		in.Stop()
		if tb.Failed() {
			tb.Logf("floe ingest log:\n%s", in.Log())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(in.Log(), "kafka: consuming") {
		select {
		case <-in.exited:
			tb.Fatalf("floe ingest exited before consuming:\n%s", in.Log())
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("floe ingest did not start consuming within 30s:\n%s", in.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, rest, ok := strings.Cut(in.Log(), "http_addr="); ok {
		in.HTTPAddr = strings.Fields(rest)[0]
	}
	return in
}

// Stop ends the process with SIGTERM (it commits what it buffered and
// leaves the group), then SIGKILL after 30 seconds.
func (in *Ingest) Stop() {
	in.once.Do(func() {
		_ = in.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-in.exited:
		case <-time.After(30 * time.Second):
			_ = in.cmd.Process.Kill()
			<-in.exited
		}
	})
}

// Kill ends the process with SIGKILL at once.
func (in *Ingest) Kill() {
	in.once.Do(func() {
		_ = in.cmd.Process.Kill()
		<-in.exited
	})
}

// Log returns what the process printed so far.
func (in *Ingest) Log() string { return in.log.String() }

// MustClinicalDataDir returns a new data directory holding the example
// policy examples/policies/clinical and, for each user, the password
// "<user>-password" (set with floe user passwd).
func MustClinicalDataDir(tb testing.TB, users ...string) string {
	tb.Helper()
	dir := tb.TempDir()
	if out, err := exec.Command("cp", "-r", "../examples/policies/clinical", filepath.Join(dir, "policy")).CombinedOutput(); err != nil {
		tb.Fatalf("copy example policy: %v %s", err, out)
	}
	bin := MustBuildFloe(tb)
	for _, u := range users {
		cmd := exec.Command(bin, "user", "passwd", "--data", dir, u)
		cmd.Stdin = strings.NewReader(u + "-password\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("floe user passwd %s: %v %s", u, err, out)
		}
	}
	return dir
}
