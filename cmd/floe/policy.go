package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/floe-dev/floe/authz"
)

const policyUsage = `usage:
  floe policy check   [--config FILE] [--data DIR] [--policy-dir DIR]
  floe policy compile [--config FILE] [--data DIR] [--policy-dir DIR]
  floe policy explain [--config FILE] [--data DIR] [--policy-dir DIR] --user U [--action floe:Select]
                      --table NS.TABLE|NS [--source-ip IP] [--tls] [--time RFC3339]
  floe policy import aws [--out DIR] [--force] [--dry-run] [--region R] [--endpoint-url URL]
The policy directory defaults to DATA/policy.`

// runPolicy implements `floe policy check|compile|explain`.
func runPolicy(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(policyUsage)
	}
	sub := args[0]
	if sub == "import" { // floe policy import aws: its own flags (policy_import.go)
		return runPolicyImport(args[1:], stdout)
	}
	fs := flag.NewFlagSet("floe policy "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	configPath := fs.String("config", os.Getenv("FLOE_CONFIG"), "YAML configuration file")
	data := fs.String("data", "", "data directory")
	dir := fs.String("policy-dir", "", "policy directory (default DATA/policy)")
	user := fs.String("user", "", "principal (explain)")
	action := fs.String("action", authz.ActionSelect, "action (explain)")
	table := fs.String("table", "", "NS.TABLE or NS (explain)")
	sourceIP := fs.String("source-ip", "", "client address (explain)")
	tls := fs.Bool("tls", false, "the client uses TLS (explain)")
	at := fs.String("time", "", "request time, RFC 3339 (explain; default now)")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w\n%s", err, policyUsage)
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected argument %q\n%s", fs.Arg(0), policyUsage)
	}
	cfg, err := layeredConfig(*configPath, *data)
	if err != nil {
		return err
	}
	if *dir == "" {
		*dir = cfg.policyDir()
	}
	opts := authz.Options{AdminUser: cfg.Admin.User}

	switch sub {
	case "check":
		if _, err := authz.Compile(*dir, opts); err != nil {
			return fmt.Errorf("policy %s is invalid:\n%w", *dir, err)
		}
		fmt.Fprintf(stdout, "policy %s is valid\n", *dir)
		return nil
	case "compile":
		p, err := authz.Compile(*dir, opts)
		if err != nil {
			return fmt.Errorf("policy %s is invalid:\n%w", *dir, err)
		}
		fmt.Fprintf(stdout, "# Casbin model\n%s\n# Casbin policy\n%s", authz.CasbinModel(), p.CasbinPolicy())
		return nil
	case "explain":
		if *user == "" || *table == "" {
			return errors.New("explain needs --user and --table\n" + policyUsage)
		}
		req := authz.Request{Principal: *user, Action: *action, SecureTransport: *tls}
		ns, tbl, _ := strings.Cut(*table, ".")
		req.Resource = authz.Resource{Namespace: ns, Table: tbl}
		if *sourceIP != "" {
			a, err := netip.ParseAddr(*sourceIP)
			if err != nil {
				return fmt.Errorf("--source-ip: %w", err)
			}
			req.SourceIP = a
		}
		if *at != "" {
			t, err := time.Parse(time.RFC3339, *at)
			if err != nil {
				return fmt.Errorf("--time: %w", err)
			}
			req.Time = t
		}
		p, err := authz.Compile(*dir, opts)
		if err != nil {
			return fmt.Errorf("policy %s is invalid:\n%w", *dir, err)
		}
		d := p.Decide(req)
		fmt.Fprintf(stdout, "request:  %s %s %s\n", req.Principal, req.Action, req.Resource)
		fmt.Fprint(stdout, d.Explain())
		return nil
	}
	return fmt.Errorf("unknown policy command %q\n%s", sub, policyUsage)
}
