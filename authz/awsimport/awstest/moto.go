// Package awstest starts a real AWS API emulator for tests: moto in server
// mode (PyPI: pip install 'moto[server]'), on loopback. It is imported only
// by tests.
package awstest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// MustMoto starts a moto server of its own for tb on a free loopback port and
// returns its endpoint URL (http://127.0.0.1:PORT); tb's cleanup stops it.
// It fails tb, saying how to install moto, when it is missing or does not
// start: the IAM import tests never skip.
func MustMoto(tb testing.TB) string {
	tb.Helper()
	cmdline, err := motoCommand()
	if err != nil {
		tb.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(cmdline[0], append(cmdline[1:], "-H", "127.0.0.1", "-p", strconv.Itoa(port))...)
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start moto server (%s): %v", strings.Join(cmdline, " "), err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(url + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		select {
		case err := <-exited:
			exited <- err
			tb.Fatalf("moto server exited (%v):\n%s", err, logs.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("moto server did not answer on %s within 90s:\n%s", url, logs.String())
		}
	}
}

// motoCommand finds moto's server: $FLOE_MOTO_SERVER, moto_server on PATH,
// or python3 -m moto.server when python3 can import it.
func motoCommand() ([]string, error) {
	if c := os.Getenv("FLOE_MOTO_SERVER"); c != "" {
		return strings.Fields(c), nil
	}
	if py, err := exec.LookPath("python3"); err == nil {
		if exec.Command(py, "-c", "import moto.server, flask").Run() == nil {
			return []string{py, "-m", "moto.server"}, nil
		}
	}
	if p, err := exec.LookPath("moto_server"); err == nil {
		return []string{p}, nil
	}
	return nil, fmt.Errorf("moto is not installed: the AWS import tests run a real emulator " +
		"(python3 -m pip install 'moto[server]', or run scripts/test.sh)")
}

// Config returns an aws.Config for a moto endpoint: static test
// credentials, region us-east-1, the endpoint set on every client.
func Config(endpoint string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(endpoint),
	}
}

// Ctx returns a context for one test's AWS calls.
func Ctx(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	tb.Cleanup(cancel)
	return ctx
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
