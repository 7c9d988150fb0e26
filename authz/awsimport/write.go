package awsimport

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/floe-dev/floe/authz"
)

// ErrNotEmpty is returned by Write for a directory that already holds files
// when force is false.
var ErrNotEmpty = errors.New("directory is not empty")

// Render prints every file with its path, then the notes: what --dry-run
// shows.
func (r *Result) Render(w io.Writer) {
	for _, p := range r.Paths() {
		fmt.Fprintf(w, "==> %s <==\n%s\n", p, r.Files[p])
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, n)
	}
}

// Write puts the policy directory at dir. A directory that holds anything
// is refused (ErrNotEmpty) unless force; with force, principals.json,
// policies/ and filters/ are replaced and nothing else is touched. The
// files are written to a sibling temporary directory and compiled with
// authz first, so a failure leaves dir as it was; the final renames are not
// one atomic step (a concurrent reload may see a mix for a moment, which
// the reloader refuses as invalid until the next poll).
func (r *Result) Write(dir string, force bool, opts Options) error {
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 && !force {
		return fmt.Errorf("%s: %w (use --force to replace its %s, %s/ and %s/)", dir, ErrNotEmpty, authz.PrincipalsFile, authz.PoliciesDir, authz.FiltersDir)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".import-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := writeFiles(tmp, r.Files); err != nil {
		return err
	}
	for _, sub := range []string{authz.PoliciesDir, authz.FiltersDir} {
		if err := os.MkdirAll(filepath.Join(tmp, sub), 0o755); err != nil {
			return err
		}
	}
	if _, err := authz.Compile(tmp, authz.Options{AdminUser: opts.AdminUser}); err != nil {
		return fmt.Errorf("the imported policy does not compile: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range []string{authz.PoliciesDir, authz.FiltersDir, authz.PrincipalsFile} {
		dst := filepath.Join(dir, name)
		if err := os.RemoveAll(dst); err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(tmp, name), dst); err != nil {
			return err
		}
	}
	return nil
}
