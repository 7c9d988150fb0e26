package main

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
	"strconv"
	"strings"
	"syscall"
	"time"
)

// floeServer is a `floe serve` child process on free loopback ports.
type floeServer struct {
	dir      string // data directory
	pgAddr   string
	httpAddr string
	password string
	cmd      *exec.Cmd
	logPath  string
	exited   chan error
}

// buildFloe builds the floe binary of the module that holds the working
// directory into dir and returns its path.
func buildFloe(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run bench from inside the floe module")
	}
	bin := filepath.Join(dir, "floe")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/floe")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/floe: %w\n%s", err, out)
	}
	return bin, nil
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// startFloe starts bin serving data directory dir with DuckDB limited to
// threads and waits until it answers /healthz.
func startFloe(ctx context.Context, bin, dir string, threads int, extraArgs ...string) (*floeServer, error) {
	pgAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	httpAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	s := &floeServer{
		dir:      filepath.Join(dir, "data"),
		pgAddr:   pgAddr,
		httpAddr: httpAddr,
		password: "bench-password",
		logPath:  filepath.Join(dir, "floe.log"),
		exited:   make(chan error, 1),
	}
	logf, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	// Not CommandContext: stop shuts floe down gracefully instead.
	s.cmd = exec.Command(bin, append([]string{"serve", "--data", s.dir, "--pg-addr", pgAddr, "--http-addr", httpAddr}, extraArgs...)...)
	s.cmd.Env = append(os.Environ(),
		"FLOE_ADMIN_PASSWORD="+s.password,
		"FLOE_DUCKDB_THREADS="+strconv.Itoa(threads),
	)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start floe: %w", err)
	}
	go func() {
		s.exited <- s.cmd.Wait()
		logf.Close()
	}()

	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + httpAddr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case err := <-s.exited:
			s.exited <- err
			return nil, fmt.Errorf("floe exited at start (%v):\n%s", err, s.logTail())
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("floe not ready after 60s:\n%s", s.logTail())
		}
	}
}

// pgURL is the connection string of floe's pgwire listener. TLS is off so
// that floe and PostgreSQL are compared over the same plain TCP.
func (s *floeServer) pgURL() string {
	return fmt.Sprintf("postgres://admin:%s@%s/floe?sslmode=disable", s.password, s.pgAddr)
}

// stop asks floe to shut down and kills it if it has not within 30s.
func (s *floeServer) stop() {
	if s.cmd.Process == nil {
		return
	}
	select {
	case err := <-s.exited:
		s.exited <- err
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		s.exited <- err
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		s.exited <- <-s.exited
	}
}

// cpu returns the CPU time floe has used so far.
func (s *floeServer) cpu() time.Duration { return procCPU(s.cmd.Process.Pid) }

// peakRSS returns floe's peak resident set size in bytes (0 if unknown).
func (s *floeServer) peakRSS() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func (s *floeServer) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}

// procCPU returns the user+system CPU time of process pid from
// /proc/PID/stat (0 if unreadable). Linux reports it in clock ticks of
// 1/100 s on every platform Go supports.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command name: state is field 3,
	// utime 14, stime 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * (time.Second / 100)
}

// selfCPU returns the CPU time this process has used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
