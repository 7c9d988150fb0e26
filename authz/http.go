package authz

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

type principalKey struct{}

// WithPrincipal returns ctx carrying the authenticated principal's name.
func WithPrincipal(ctx context.Context, user string) context.Context {
	return context.WithValue(ctx, principalKey{}, user)
}

// Principal returns the authenticated principal of ctx, or "".
func Principal(ctx context.Context) string {
	u, _ := ctx.Value(principalKey{}).(string)
	return u
}

// BasicAuth authenticates HTTP requests with Basic credentials checked
// against the directory (the same users and passwords as pgwire) and
// passes the principal on in the request context. Failures get 401 with a
// JSON error body. Verified credentials are remembered for a short while so
// that a stream of pushes does not pay PBKDF2 on every request.
func (d *Directory) BasicAuth(next http.Handler) http.Handler {
	type entry struct {
		user    string
		expires time.Time
	}
	var mu sync.Mutex
	cache := map[[32]byte]entry{}
	const ttl = 30 * time.Second
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok {
			unauthorized(w, "authentication required")
			return
		}
		key := sha256.Sum256([]byte(user + "\x00" + pass))
		mu.Lock()
		e, hit := cache[key]
		mu.Unlock()
		if !hit || time.Now().After(e.expires) || !d.Has(user) {
			if err := d.Authenticate(user, pass); err != nil {
				unauthorized(w, "password authentication failed for user \""+user+"\"")
				return
			}
			mu.Lock()
			if len(cache) > 1024 {
				clear(cache)
			}
			cache[key] = entry{user: user, expires: time.Now().Add(ttl)}
			mu.Unlock()
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), user)))
	})
}

func unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Basic realm="floe", charset="UTF-8"`)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": "28P01", "message": msg}})
}
