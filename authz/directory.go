package authz

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/floe-dev/floe/scram"
)

// ErrUnknownUser is returned for a user the directory does not hold.
var ErrUnknownUser = errors.New("unknown user")

// ErrBadCredentials is returned by Authenticate for an unknown user or a wrong
// password alike, so callers cannot tell which.
var ErrBadCredentials = errors.New("bad credentials")

// Directory is the principal directory: users and their password verifiers,
// kept in one JSON file (mode 0600).
type Directory struct {
	path string

	mu      sync.Mutex
	users   map[string]userRecord
	modTime time.Time
}

type userRecord struct {
	Secret string `json:"scram_sha_256"`
}

type directoryFile struct {
	Users map[string]userRecord `json:"users"`
}

// OpenDirectory opens the directory file at path, creating an empty one if
// it does not exist.
func OpenDirectory(path string) (*Directory, error) {
	d := &Directory{path: path, users: map[string]userRecord{}}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
		if err := d.save(); err != nil {
			return nil, err
		}
	}
	if err := d.load(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *Directory) load() error {
	st, err := os.Stat(d.path)
	if err != nil {
		return fmt.Errorf("read users: %w", err)
	}
	if st.ModTime().Equal(d.modTime) {
		return nil
	}
	raw, err := os.ReadFile(d.path)
	if err != nil {
		return fmt.Errorf("read users: %w", err)
	}
	var f directoryFile
	if err := json.Unmarshal(raw, &f); err != nil {
		return fmt.Errorf("parse %s: %w", filepath.Base(d.path), err)
	}
	for name, u := range f.Users {
		if _, err := scram.Parse(u.Secret); err != nil {
			return fmt.Errorf("parse %s: user %q: %w", filepath.Base(d.path), name, err)
		}
	}
	if f.Users == nil {
		f.Users = map[string]userRecord{}
	}
	d.users, d.modTime = f.Users, st.ModTime()
	return nil
}

// save writes the file atomically (temp file + rename).
func (d *Directory) save() error {
	raw, err := json.MarshalIndent(directoryFile{Users: d.users}, "", "  ")
	if err != nil {
		return err
	}
	tmp := d.path + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return fmt.Errorf("write users: %w", err)
	}
	if err := os.Rename(tmp, d.path); err != nil {
		return fmt.Errorf("write users: %w", err)
	}
	if st, err := os.Stat(d.path); err == nil {
		d.modTime = st.ModTime()
	}
	return nil
}

// Secret returns the verifier of user.
func (d *Directory) Secret(user string) (scram.Secret, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.load(); err != nil {
		return scram.Secret{}, err
	}
	u, ok := d.users[user]
	if !ok {
		return scram.Secret{}, fmt.Errorf("%w: %q", ErrUnknownUser, user)
	}
	return scram.Parse(u.Secret)
}

// Has reports whether user exists.
func (d *Directory) Has(user string) bool {
	_, err := d.Secret(user)
	return err == nil
}

// Users lists the user names, sorted.
func (d *Directory) Users() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	_ = d.load()
	out := make([]string, 0, len(d.users))
	for u := range d.users {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}

// SetPassword stores a new verifier for user, creating the user if needed.
func (d *Directory) SetPassword(user, password string) error {
	if user == "" {
		return errors.New("empty user name")
	}
	s, err := scram.New(password, 0)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.load(); err != nil {
		return err
	}
	d.users[user] = userRecord{Secret: s.String()}
	return d.save()
}

// Authenticate checks a user's password. Unknown users and wrong passwords
// both return ErrBadCredentials.
func (d *Directory) Authenticate(user, password string) error {
	s, err := d.Secret(user)
	if err != nil {
		// Spend the same work as a real check so timing does not tell.
		dummy := scram.Secret{Iterations: scram.DefaultIterations, Salt: make([]byte, scram.SaltLen), StoredKey: make([]byte, scram.KeyLen)}
		dummy.Verify(password)
		return ErrBadCredentials
	}
	if !s.Verify(password) {
		return ErrBadCredentials
	}
	return nil
}

// GeneratePassword returns a random password of 20 letters and digits.
func GeneratePassword() (string, error) {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 20)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", err
		}
		b[i] = alphabet[n.Int64()]
	}
	return string(b), nil
}
