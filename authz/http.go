package authz

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/netip"
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

// Authorize lets a request through only if the policy in force allows its
// principal (set by BasicAuth) action on the resource the request names;
// otherwise it answers 403 with a JSON error naming the object. The
// client's address and TLS are the request's own, for policy conditions.
func Authorize(policy func() *Policy, action string, resource func(*http.Request) (Resource, bool), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, ok := resource(r)
		if !ok {
			next.ServeHTTP(w, r) // not a resource path: the handler answers (404, 405, ...)
			return
		}
		req := Request{Principal: Principal(r.Context()), Action: action, Resource: res, SecureTransport: r.TLS != nil}
		if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
			req.SourceIP = ap.Addr().Unmap()
		}
		if d := policy().Decide(req); !d.Allowed {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{
				"code": "42501", "message": "permission denied for table " + res.String()}})
			return
		}
		next.ServeHTTP(w, r)
	})
}
