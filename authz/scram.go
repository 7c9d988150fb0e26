package authz

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

// DefaultIterations is the PBKDF2 iteration count of new verifiers
// (PostgreSQL's default scram_iterations).
const DefaultIterations = 4096

// Secret is a SCRAM-SHA-256 verifier: what the server keeps instead of a
// password. Its text form is PostgreSQL's
// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>.
type Secret struct {
	Iterations int
	Salt       []byte
	StoredKey  []byte
	ServerKey  []byte
}

// NewSecret derives a verifier for password with a fresh random salt.
func NewSecret(password string, iterations int) (Secret, error) {
	if iterations <= 0 {
		iterations = DefaultIterations
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return Secret{}, err
	}
	stored, server, err := deriveKeys(password, salt, iterations)
	if err != nil {
		return Secret{}, err
	}
	return Secret{Iterations: iterations, Salt: salt, StoredKey: stored, ServerKey: server}, nil
}

func deriveKeys(password string, salt []byte, iterations int) (stored, server []byte, err error) {
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return nil, nil, err
	}
	clientKey := hmacSHA256(salted, "Client Key")
	sum := sha256.Sum256(clientKey)
	return sum[:], hmacSHA256(salted, "Server Key"), nil
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// Verify reports whether password matches the verifier, in constant time.
func (s Secret) Verify(password string) bool {
	stored, _, err := deriveKeys(password, s.Salt, s.Iterations)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(stored, s.StoredKey) == 1
}

func (s Secret) String() string {
	b := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", s.Iterations, b(s.Salt), b(s.StoredKey), b(s.ServerKey))
}

// ParseSecret parses the text form of a verifier.
func ParseSecret(text string) (Secret, error) {
	bad := fmt.Errorf("invalid SCRAM-SHA-256 verifier")
	rest, ok := strings.CutPrefix(text, "SCRAM-SHA-256$")
	if !ok {
		return Secret{}, bad
	}
	iterSalt, keys, ok := strings.Cut(rest, "$")
	if !ok {
		return Secret{}, bad
	}
	iterText, saltText, ok1 := strings.Cut(iterSalt, ":")
	storedText, serverText, ok2 := strings.Cut(keys, ":")
	if !ok1 || !ok2 {
		return Secret{}, bad
	}
	iter, err := strconv.Atoi(iterText)
	if err != nil || iter <= 0 {
		return Secret{}, bad
	}
	d := base64.StdEncoding.DecodeString
	salt, err1 := d(saltText)
	stored, err2 := d(storedText)
	server, err3 := d(serverText)
	if err1 != nil || err2 != nil || err3 != nil || len(stored) != sha256.Size || len(server) != sha256.Size {
		return Secret{}, bad
	}
	return Secret{Iterations: iter, Salt: salt, StoredKey: stored, ServerKey: server}, nil
}
