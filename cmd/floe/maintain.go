package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/floe-dev/floe/authz"
	"github.com/floe-dev/floe/catalog"
	"github.com/floe-dev/floe/maintain"
)

// maintenanceConfig is the maintenance section: set-and-forget table
// maintenance inside floe serve and floe ingest (package maintain).
type maintenanceConfig struct {
	Enabled        *bool         `yaml:"enabled"` // default true
	Interval       time.Duration `yaml:"interval"`
	TargetFileSize string        `yaml:"target_file_size"` // 128MB, 1GiB, bytes
	SnapshotMaxAge time.Duration `yaml:"snapshot_max_age"`
	MinSnapshots   int           `yaml:"min_snapshots"`
	OrphanGrace    time.Duration `yaml:"orphan_grace"`
}

func (m maintenanceConfig) enabled() bool { return m.Enabled == nil || *m.Enabled }

// maintainConfig returns the section as package maintain takes it, or an
// error naming the field that is wrong.
func (m maintenanceConfig) maintainConfig() (maintain.Config, error) {
	c := maintain.Config{Disabled: !m.enabled(), Interval: m.Interval, SnapshotMaxAge: m.SnapshotMaxAge,
		MinSnapshots: m.MinSnapshots, OrphanGrace: m.OrphanGrace}
	if m.TargetFileSize != "" {
		n, err := parseByteSize(m.TargetFileSize)
		if err != nil {
			return c, fmt.Errorf("config: maintenance.target_file_size: %w", err)
		}
		c.TargetFileSize = n
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("config: maintenance.%w", err)
	}
	return c, nil
}

// maintenanceEnv are the FLOE_* variables of the maintenance section.
var maintenanceEnv = map[string]func(c *Config, v string) error{
	"FLOE_MAINTENANCE_ENABLED": func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		c.Maintenance.Enabled = &b
		return err
	},
	"FLOE_MAINTENANCE_INTERVAL": func(c *Config, v string) (err error) {
		c.Maintenance.Interval, err = time.ParseDuration(v)
		return
	},
	"FLOE_MAINTENANCE_TARGET_FILE_SIZE": func(c *Config, v string) error { c.Maintenance.TargetFileSize = v; return nil },
	"FLOE_SNAPSHOT_MAX_AGE": func(c *Config, v string) (err error) {
		c.Maintenance.SnapshotMaxAge, err = time.ParseDuration(v)
		return
	},
	"FLOE_MIN_SNAPSHOTS": func(c *Config, v string) (err error) { c.Maintenance.MinSnapshots, err = strconv.Atoi(v); return },
	"FLOE_ORPHAN_GRACE": func(c *Config, v string) (err error) {
		c.Maintenance.OrphanGrace, err = time.ParseDuration(v)
		return
	},
}

func init() {
	for k, f := range maintenanceEnv {
		envVars[k] = f
	}
}

// newMaintainer returns the process's Maintainer of cat: its metrics in
// obs (nil: none), its runs audited through record (nil: not audited).
func newMaintainer(cfg Config, cat *catalog.Catalog, obs *observer, record func(authz.AuditRecord), log *slog.Logger) (*maintain.Maintainer, error) {
	mc, err := cfg.Maintenance.maintainConfig()
	if err != nil {
		return nil, err
	}
	mc.LockDir = filepath.Join(cfg.Data, "maintenance", "locks")
	mc.Logger = log
	if obs != nil {
		mc.Registerer = obs.reg
	}
	if record != nil {
		mc.Audit = auditMaintenance(record, log)
	}
	m, err := maintain.New(cat, mc)
	if err != nil {
		return nil, err
	}
	if obs != nil {
		obs.maint.Store(m)
	}
	return m, nil
}

// auditMaintenance turns maintenance runs into audit records. Runs the
// scheduler starts on the audit table itself are only logged: auditing
// them would commit to the table they just maintained, and keep it busy.
func auditMaintenance(record func(authz.AuditRecord), log *slog.Logger) func(maintain.Report) {
	return func(r maintain.Report) {
		log.Info("maintenance: "+r.Summary(), "table", r.Table, "principal", r.Principal,
			"took", r.Finished.Sub(r.Started).Round(time.Millisecond), "step_ms", r.StepMillis)
		if r.Principal == maintain.SystemPrincipal && strings.HasPrefix(r.Table, "floe_audit.") {
			return
		}
		rec := authz.AuditRecord{Time: r.Started, Principal: r.Principal, Protocol: r.Protocol,
			Application: "floe maintenance", Statement: "MAINTAIN " + r.Table, Tables: []string{r.Table},
			Decision: authz.AuditAllowed, Message: r.Summary(), DurationUS: r.Finished.Sub(r.Started).Microseconds()}
		if r.DryRun {
			rec.Statement += " DRY RUN"
		}
		if r.Err != nil {
			rec.Decision = authz.AuditFailed
		}
		record(rec)
	}
}

// runMaintain is floe maintain: it runs every maintenance step due now on
// one table (--table NS.T) or every table, once, and prints what it did.
// It acts as the admin user, who needs floe:Maintain on each table; a
// table it may not maintain is refused (and audited as denied).
func runMaintain(ctx context.Context, cfg Config, table string, dryRun bool, stdout, stderr io.Writer) (err error) {
	log := newLogger(stderr, "warn")
	n, err := openNode(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	defer n.close()
	flush, err := openCLIAudit(ctx, n, log)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, flush()) }()
	m, err := newMaintainer(cfg, n.cat, nil, n.audit.Record, log)
	if err != nil {
		return err
	}
	var targets [][2]string
	if table != "" {
		ns, name, ok := strings.Cut(table, ".")
		if !ok || ns == "" || name == "" {
			return fmt.Errorf("--table %q is not NAMESPACE.TABLE", table)
		}
		targets = append(targets, [2]string{ns, name})
	} else {
		nss, err := n.cat.Namespaces(ctx)
		if err != nil {
			return err
		}
		for _, ns := range nss {
			names, err := n.cat.Tables(ctx, ns)
			if err != nil {
				return err
			}
			for _, name := range names {
				targets = append(targets, [2]string{ns, name})
			}
		}
	}
	var errs []error
	for _, t := range targets {
		ns, name := t[0], t[1]
		d := n.policy.Policy().Decide(authz.Request{Principal: cfg.Admin.User, Action: authz.ActionMaintain,
			Resource: authz.Resource{Namespace: ns, Table: name}})
		if !d.Allowed {
			n.audit.Record(authz.AuditRecord{Time: time.Now(), Principal: cfg.Admin.User, Protocol: "cli",
				Application: "floe maintenance", Statement: "MAINTAIN " + ns + "." + name, Tables: []string{ns + "." + name},
				Decision: authz.AuditDenied, SQLState: "42501", Message: "permission denied: floe:Maintain on " + ns + "." + name})
			errs = append(errs, fmt.Errorf("%s.%s: permission denied (floe:Maintain)", ns, name))
			continue
		}
		rep, err := m.RunTable(ctx, ns, name, maintain.Options{DryRun: dryRun, Principal: cfg.Admin.User, Protocol: "cli"})
		if errors.Is(err, catalog.ErrNoSuchTable) {
			errs = append(errs, fmt.Errorf("%s.%s: no such table", ns, name))
			continue
		}
		fmt.Fprintf(stdout, "%s.%s: %s\n", ns, name, rep.Summary())
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.%s: %w", ns, name, err))
		}
	}
	return errors.Join(errs...)
}
