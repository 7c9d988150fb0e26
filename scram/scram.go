// Package scram holds SCRAM-SHA-256 verifiers (RFC 5802, RFC 7677) in
// PostgreSQL's format, SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>.
// It is a leaf package shared by authz, which stores verifiers, and pgwire,
// which runs the SCRAM exchange against them; it imports nothing of floe.
package scram

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// DefaultIterations is the PBKDF2 iteration count New uses when given 0;
// it is PostgreSQL's default (scram_iterations).
const DefaultIterations = 4096

const (
	// Mechanism is the SASL mechanism name.
	Mechanism = "SCRAM-SHA-256"
	// SaltLen is the length of the salts New generates.
	SaltLen = 16
	// KeyLen is the length of StoredKey and ServerKey.
	KeyLen = sha256.Size
)

// Secret is a SCRAM-SHA-256 verifier, what a server keeps instead of a
// password.
type Secret struct {
	Iterations int
	Salt       []byte
	StoredKey  []byte
	ServerKey  []byte
}

// New derives the SCRAM-SHA-256 verifier of password with a random
// 16-byte salt. iterations 0 means DefaultIterations.
//
// The password is used as given (no SASLprep): printable ASCII passwords
// behave exactly as in PostgreSQL; non-ASCII passwords should be in Unicode
// NFC, which is what clients send after their own normalisation.
func New(password string, iterations int) (Secret, error) {
	if iterations == 0 {
		iterations = DefaultIterations
	}
	if iterations < 1 {
		return Secret{}, fmt.Errorf("scram: invalid iteration count %d", iterations)
	}
	salt := make([]byte, SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return Secret{}, fmt.Errorf("scram: salt: %w", err)
	}
	return WithSalt(password, salt, iterations)
}

// WithSalt derives the verifier of password with a given salt.
func WithSalt(password string, salt []byte, iterations int) (Secret, error) {
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, KeyLen)
	if err != nil {
		return Secret{}, fmt.Errorf("scram: %w", err)
	}
	storedKey := sha256.Sum256(HMAC(salted, "Client Key"))
	return Secret{
		Iterations: iterations,
		Salt:       salt,
		StoredKey:  storedKey[:],
		ServerKey:  HMAC(salted, "Server Key"),
	}, nil
}

// String returns the secret in PostgreSQL's pg_authid.rolpassword form:
// SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>.
func (s Secret) String() string {
	enc := base64.StdEncoding
	return Mechanism + "$" + strconv.Itoa(s.Iterations) + ":" + enc.EncodeToString(s.Salt) +
		"$" + enc.EncodeToString(s.StoredKey) + ":" + enc.EncodeToString(s.ServerKey)
}

// Parse parses the form String produces (and PostgreSQL stores).
func Parse(text string) (Secret, error) {
	bad := func(what string) (Secret, error) {
		return Secret{}, fmt.Errorf("scram: invalid secret: %s", what)
	}
	mech, rest, ok := strings.Cut(text, "$")
	if !ok || mech != Mechanism {
		return bad("not a SCRAM-SHA-256 secret")
	}
	iterSalt, keys, ok := strings.Cut(rest, "$")
	if !ok {
		return bad("missing keys")
	}
	iterText, saltText, ok := strings.Cut(iterSalt, ":")
	if !ok {
		return bad("missing salt")
	}
	iter, err := strconv.Atoi(iterText)
	if err != nil || iter < 1 {
		return bad("iteration count")
	}
	salt, err := base64.StdEncoding.DecodeString(saltText)
	if err != nil || len(salt) == 0 {
		return bad("salt")
	}
	storedText, serverText, ok := strings.Cut(keys, ":")
	if !ok {
		return bad("missing server key")
	}
	stored, err := base64.StdEncoding.DecodeString(storedText)
	if err != nil || len(stored) != KeyLen {
		return bad("stored key")
	}
	server, err := base64.StdEncoding.DecodeString(serverText)
	if err != nil || len(server) != KeyLen {
		return bad("server key")
	}
	return Secret{Iterations: iter, Salt: salt, StoredKey: stored, ServerKey: server}, nil
}

// Verify reports whether password matches the secret. It costs one PBKDF2
// derivation (Iterations rounds) and compares in constant time.
func (s Secret) Verify(password string) bool {
	if s.Iterations < 1 || len(s.StoredKey) != KeyLen {
		return false
	}
	salted, err := pbkdf2.Key(sha256.New, password, s.Salt, s.Iterations, KeyLen)
	if err != nil {
		return false
	}
	storedKey := sha256.Sum256(HMAC(salted, "Client Key"))
	return subtle.ConstantTimeCompare(storedKey[:], s.StoredKey) == 1
}

// HMAC returns HMAC-SHA-256(key, msg).
func HMAC(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}
