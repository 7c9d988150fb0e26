package scram

import "testing"

func TestSecretRoundTrip(t *testing.T) {
	s, err := New("pencil", 4096)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(s.String())
	if err != nil {
		t.Fatal(err)
	}
	if !p.Verify("pencil") || p.Verify("pencil2") {
		t.Fatal("verify after round trip")
	}
	for _, bad := range []string{"", "md5abc", "SCRAM-SHA-256$x:y$z:w", "SCRAM-SHA-256$4096:AAAA$AAAA:AAAA"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("ParseSecret(%q) accepted", bad)
		}
	}
}

// The verifier format is PostgreSQL's: a known verifier from PostgreSQL
// (password "pencil", RFC 7677's example salt) must verify.
func TestSecretMatchesPostgreSQL(t *testing.T) {
	s, err := Parse("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=")
	if err != nil {
		t.Fatal(err)
	}
	if !s.Verify("pencil") {
		t.Fatal("RFC 7677 example verifier does not verify")
	}
}
