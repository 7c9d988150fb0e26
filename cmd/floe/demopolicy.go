package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/floe-dev/floe/authz"
	"github.com/floe-dev/floe/examples"
)

// installDemoPolicy writes the example clinical policy into dir when dir
// holds no policy yet, so that `floe demo` shows row filters and masks
// with nothing to set up. A policy already there is the operator's and is
// left alone. It reports whether it wrote the files.
func installDemoPolicy(dir string) (bool, error) {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return false, nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("policy directory: %w", err)
	}
	src, err := fs.Sub(examples.ClinicalPolicy, examples.ClinicalPolicyRoot)
	if err != nil {
		return false, err
	}
	err = fs.WalkDir(src, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(path))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := fs.ReadFile(src, path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		return false, fmt.Errorf("install demo policy: %w", err)
	}
	return true, nil
}

// demoUsers gives every user of the example policy that has no password
// yet one generated password, printed once, so each role can be tried.
func demoUsers(users *authz.Directory, out io.Writer) error {
	b, err := fs.ReadFile(examples.ClinicalPolicy, examples.ClinicalPolicyRoot+"/principals.json")
	if err != nil {
		return err
	}
	var p struct {
		Users map[string]struct {
			Roles []string       `json:"roles"`
			Tags  map[string]any `json:"tags"`
		} `json:"users"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("demo principals: %w", err)
	}
	var names []string
	for name := range p.Users {
		if !users.Has(name) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	pw, err := authz.GeneratePassword()
	if err != nil {
		return err
	}
	var lines []string
	for _, name := range names {
		if err := users.SetPassword(name, pw); err != nil {
			return err
		}
		u := p.Users[name]
		line := fmt.Sprintf("floe:   %-7s %s", name, strings.Join(u.Roles, ", "))
		switch site := u.Tags["site"].(type) {
		case string:
			line += " (site " + site + ")"
		case []any:
			sites := make([]string, len(site))
			for i, s := range site {
				sites[i] = fmt.Sprint(s)
			}
			line += " (sites " + strings.Join(sites, ", ") + ")"
		}
		lines = append(lines, line)
	}
	fmt.Fprintf(out, "floe: demo users, all with password %s (shown only this once):\n%s\n",
		pw, strings.Join(lines, "\n"))
	return nil
}
