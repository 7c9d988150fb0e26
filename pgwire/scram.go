package pgwire

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"github.com/floe-dev/floe/scram"
)

const (
	scramMechanism  = scram.Mechanism
	scramSaltLen    = scram.SaltLen
	scramKeyLen     = scram.KeyLen
	scramNonceBytes = 18 // as PostgreSQL: 24 base64 characters
)

var hmacSHA256 = scram.HMAC

// mockSCRAMSecret is the secret used for an unknown user so that the exchange
// looks the same as for a known one (as PostgreSQL's scram_mock_salt): a salt
// that is stable per user name and keys that no password matches.
func mockSCRAMSecret(key []byte, user string) SCRAMSecret {
	salt := hmacSHA256(key, "salt\x00"+user)[:scramSaltLen]
	stored := make([]byte, scramKeyLen)
	server := make([]byte, scramKeyLen)
	rand.Read(stored)
	rand.Read(server)
	return SCRAMSecret{Iterations: scram.DefaultIterations, Salt: salt, StoredKey: stored, ServerKey: server}
}

// errSCRAMMalformed is returned by the SCRAM message parsers; the client sees
// 08P01 "malformed SCRAM message".
var errSCRAMMalformed = errors.New("malformed SCRAM message")

// scramClientFirst is a parsed client-first-message (RFC 5802 section 7).
type scramClientFirst struct {
	GS2Header string // "n,," or "y,,"
	Bare      string // client-first-message-bare
	User      string // the n= attribute (PostgreSQL ignores it)
	Nonce     string
}

// parseSCRAMClientFirst parses a client-first-message. Channel binding
// ("p=") and authorization identities are refused: the server advertises
// only SCRAM-SHA-256.
func parseSCRAMClientFirst(msg string) (scramClientFirst, error) {
	var cf scramClientFirst
	if len(msg) < 3 {
		return cf, errSCRAMMalformed
	}
	switch msg[0] {
	case 'n', 'y':
		if msg[1] != ',' {
			return cf, errSCRAMMalformed
		}
	case 'p':
		return cf, errors.New("channel binding is not supported")
	default:
		return cf, errSCRAMMalformed
	}
	rest := msg[2:]
	if !strings.HasPrefix(rest, ",") {
		// An authzid (a=...) or garbage.
		if strings.HasPrefix(rest, "a=") {
			return cf, errors.New("authorization identity is not supported")
		}
		return cf, errSCRAMMalformed
	}
	cf.GS2Header = msg[:3]
	cf.Bare = rest[1:]
	attrs := strings.Split(cf.Bare, ",")
	if len(attrs) < 2 {
		return cf, errSCRAMMalformed
	}
	user, ok := strings.CutPrefix(attrs[0], "n=")
	if !ok {
		// "m=" (mandatory extension) or anything else.
		return cf, errSCRAMMalformed
	}
	cf.User = user
	nonce, ok := strings.CutPrefix(attrs[1], "r=")
	if !ok || !validSCRAMNonce(nonce) {
		return cf, errSCRAMMalformed
	}
	cf.Nonce = nonce
	for _, a := range attrs[2:] {
		// Optional extensions: a letter, '=', value. Ignored.
		if len(a) < 2 || a[1] != '=' || !isASCIILetter(a[0]) {
			return cf, errSCRAMMalformed
		}
	}
	return cf, nil
}

// scramClientFinal is a parsed client-final-message.
type scramClientFinal struct {
	ChannelBinding []byte // decoded c= attribute
	Nonce          string
	Proof          []byte
	WithoutProof   string // client-final-message-without-proof
}

func parseSCRAMClientFinal(msg string) (scramClientFinal, error) {
	var cf scramClientFinal
	i := strings.LastIndex(msg, ",p=")
	if i < 0 {
		return cf, errSCRAMMalformed
	}
	cf.WithoutProof = msg[:i]
	proof, err := base64.StdEncoding.DecodeString(msg[i+3:])
	if err != nil || len(proof) != scramKeyLen {
		return cf, errSCRAMMalformed
	}
	cf.Proof = proof
	attrs := strings.Split(cf.WithoutProof, ",")
	if len(attrs) < 2 {
		return cf, errSCRAMMalformed
	}
	cb, ok := strings.CutPrefix(attrs[0], "c=")
	if !ok {
		return cf, errSCRAMMalformed
	}
	if cf.ChannelBinding, err = base64.StdEncoding.DecodeString(cb); err != nil {
		return cf, errSCRAMMalformed
	}
	nonce, ok := strings.CutPrefix(attrs[1], "r=")
	if !ok || !validSCRAMNonce(nonce) {
		return cf, errSCRAMMalformed
	}
	cf.Nonce = nonce
	for _, a := range attrs[2:] {
		if len(a) < 2 || a[1] != '=' || !isASCIILetter(a[0]) {
			return cf, errSCRAMMalformed
		}
	}
	return cf, nil
}

// validSCRAMNonce: printable ASCII except ',' (RFC 5802 "printable").
func validSCRAMNonce(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == ',' {
			return false
		}
	}
	return true
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// scramServer runs the server side of one SCRAM-SHA-256 exchange.
type scramServer struct {
	secret      SCRAMSecret
	first       scramClientFirst
	serverFirst string
	nonce       string // client nonce + server nonce
	serverNonce string // fixed server nonce for tests; random when empty
}

// start consumes the client-first-message and returns the server-first-message.
func (s *scramServer) start(clientFirst []byte) (string, error) {
	cf, err := parseSCRAMClientFirst(string(clientFirst))
	if err != nil {
		return "", err
	}
	s.first = cf
	if s.serverNonce == "" {
		raw := make([]byte, scramNonceBytes)
		if _, err := rand.Read(raw); err != nil {
			return "", err
		}
		s.serverNonce = base64.StdEncoding.EncodeToString(raw)
	}
	s.nonce = cf.Nonce + s.serverNonce
	s.serverFirst = "r=" + s.nonce + ",s=" + base64.StdEncoding.EncodeToString(s.secret.Salt) +
		",i=" + strconv.Itoa(s.secret.Iterations)
	return s.serverFirst, nil
}

// finish consumes the client-final-message. It returns the server-final-message
// and whether the proof was right; err is set for malformed messages only.
func (s *scramServer) finish(clientFinal []byte) (serverFinal string, ok bool, err error) {
	cf, err := parseSCRAMClientFinal(string(clientFinal))
	if err != nil {
		return "", false, err
	}
	if string(cf.ChannelBinding) != s.first.GS2Header {
		return "", false, errors.New("SCRAM channel binding check failed")
	}
	if cf.Nonce != s.nonce {
		return "", false, errors.New("SCRAM nonce mismatch")
	}
	authMessage := s.first.Bare + "," + s.serverFirst + "," + cf.WithoutProof
	if len(s.secret.StoredKey) != scramKeyLen || len(s.secret.ServerKey) != scramKeyLen {
		return "", false, nil
	}
	clientSignature := hmacSHA256(s.secret.StoredKey, authMessage)
	clientKey := make([]byte, scramKeyLen)
	for i := range clientKey {
		clientKey[i] = cf.Proof[i] ^ clientSignature[i]
	}
	storedKey := sha256.Sum256(clientKey)
	if subtle.ConstantTimeCompare(storedKey[:], s.secret.StoredKey) != 1 {
		return "", false, nil
	}
	serverSignature := hmacSHA256(s.secret.ServerKey, authMessage)
	return "v=" + base64.StdEncoding.EncodeToString(serverSignature), true, nil
}
