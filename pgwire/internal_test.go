package pgwire

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/floe-dev/floe/scram"
)

// TestSCRAMRFC7677 runs the server side of the example exchange of RFC 7677
// section 3 (user "user", password "pencil").
func TestSCRAMRFC7677(t *testing.T) {
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	secret := mustSecretWithSalt(t, "pencil", salt, 4096)
	if !secret.Verify("pencil") || secret.Verify("pencil ") {
		t.Fatal("Verify")
	}
	s := scramServer{secret: secret, serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"}
	first, err := s.start([]byte("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"; first != want {
		t.Fatalf("server-first %q, want %q", first, want)
	}
	final, ok, err := s.finish([]byte("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="))
	if err != nil || !ok {
		t.Fatalf("finish: %v %v", ok, err)
	}
	if want := "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="; final != want {
		t.Fatalf("server-final %q, want %q", final, want)
	}

	// A wrong proof is refused without error; a wrong nonce or channel
	// binding is malformed.
	s = scramServer{secret: secret, serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"}
	s.start([]byte("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"))
	if _, ok, err := s.finish([]byte("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")); ok || err != nil {
		t.Fatalf("wrong proof: %v %v", ok, err)
	}
	if _, _, err := s.finish([]byte("c=biws,r=other,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")); err == nil {
		t.Fatal("wrong nonce accepted")
	}
	if _, _, err := s.finish([]byte("c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")); err == nil {
		t.Fatal("wrong channel binding accepted")
	}
}

func mustSecretWithSalt(t *testing.T, password string, salt []byte, iter int) SCRAMSecret {
	t.Helper()
	s, err := scram.WithSalt(password, salt, iter)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCivilDays(t *testing.T) {
	for days := int64(-800000); days < 800000; days += 7 {
		tm := time.Unix(days*86400, 0).UTC()
		y, m, d := civilFromDays(days)
		if ty, tmon, td := tm.Date(); int64(ty) != y || int64(tmon) != m || int64(td) != d {
			t.Fatalf("day %d: got %d-%d-%d, want %v", days, y, m, d, tm)
		}
		if back := civilDays(tm.Date()); back != days {
			t.Fatalf("civilDays(%v) = %d, want %d", tm, back, days)
		}
	}
}
