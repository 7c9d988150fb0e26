package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lakeformation"

	"github.com/floe-dev/floe/authz/awsimport"
)

const policyImportUsage = `usage:
  floe policy import aws [--config FILE] [--data DIR] [--out DIR] [--force] [--dry-run]
                         [--region REGION] [--endpoint-url URL]
Reads IAM users, groups, roles, tags and policies, and Lake Formation data cells
filters and grants, and writes a policy directory (default DATA/policy).
Credentials and region come from the standard AWS chain (environment, shared
config and credentials files, SSO, web identity, container and instance roles).
--endpoint-url points IAM and Lake Formation at another endpoint (an emulator).
A non-empty --out is refused unless --force, which replaces its principals.json,
policies/ and filters/. --dry-run prints the files instead of writing them.`

// runPolicyImport implements `floe policy import aws`. It is only wiring:
// the mapping lives in authz/awsimport.
func runPolicyImport(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "aws" {
		return errors.New(policyImportUsage)
	}
	fs := flag.NewFlagSet("floe policy import aws", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	configPath := fs.String("config", os.Getenv("FLOE_CONFIG"), "YAML configuration file")
	data := fs.String("data", "", "data directory")
	out := fs.String("out", "", "policy directory to write (default DATA/policy)")
	force := fs.Bool("force", false, "replace the policy files of a non-empty --out")
	dryRun := fs.Bool("dry-run", false, "print what would be written")
	region := fs.String("region", "", "AWS region (default: the AWS chain's, else us-east-1)")
	endpoint := fs.String("endpoint-url", "", "IAM and Lake Formation endpoint (an emulator)")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w\n%s", err, policyImportUsage)
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected argument %q\n%s", fs.Arg(0), policyImportUsage)
	}
	cfg, err := layeredConfig(*configPath, *data)
	if err != nil {
		return err
	}
	if *out == "" {
		*out = cfg.PolicyDir
	}
	if *out == "" {
		*out = cfg.policyDir()
	}
	opts := awsimport.Options{AdminUser: cfg.Admin.User}
	if !*dryRun && !*force {
		// Refuse before talking to AWS.
		if ents, err := os.ReadDir(*out); err == nil && len(ents) > 0 {
			return fmt.Errorf("--out %s: %w (use --force to replace its policy files)", *out, awsimport.ErrNotEmpty)
		}
	}

	ctx := context.Background()
	var loadOpts []func(*awsconfig.LoadOptions) error
	if *region != "" {
		loadOpts = append(loadOpts, awsconfig.WithRegion(*region))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return fmt.Errorf("aws configuration: %w", err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = "us-east-1"
	}
	ic := iam.NewFromConfig(awsCfg, func(o *iam.Options) {
		if *endpoint != "" {
			o.BaseEndpoint = aws.String(*endpoint)
		}
	})
	lf := lakeformation.NewFromConfig(awsCfg, func(o *lakeformation.Options) {
		if *endpoint != "" {
			o.BaseEndpoint = aws.String(*endpoint)
		}
	})
	snap, err := awsimport.Fetch(ctx, ic, lf)
	if err != nil {
		return err
	}
	res, err := awsimport.Map(snap, opts)
	if err != nil {
		return err
	}
	if *dryRun {
		fmt.Fprintf(stdout, "# dry run: would write %d files to %s\n", len(res.Files), *out)
		res.Render(stdout)
		return nil
	}
	if err := res.Write(*out, *force, opts); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d files to %s (%d users, %d groups, %d roles, %d data cells filters read)\n",
		len(res.Files), *out, len(snap.Users), len(snap.Groups), len(snap.Roles), len(snap.DataCellsFilters))
	for _, n := range res.Notes {
		fmt.Fprintln(stdout, n)
	}
	return nil
}
