package awsimport

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// floe users hold roles; IAM users assume them. A user holds a role in the
// imported policy when the role's trust policy lets the user assume it
// without a Condition:
//   - an Allow of sts:AssumeRole naming the user's ARN, or
//   - an Allow naming the account (…:root, the account ID or "*") while one
//     of the user's own or its groups' identity policies allows
//     sts:AssumeRole on the role's ARN without a Condition,
// and no Deny (conditions or not: fail closed) of the trust policy or of
// those identity policies names the user. Trust through services, identity
// providers and other roles (role chaining) gives no floe user the role.

type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*l = many
	return nil
}

type stmtJSON struct {
	Effect       string
	Action       stringList
	NotAction    stringList
	Resource     stringList
	NotResource  stringList
	Principal    json.RawMessage
	NotPrincipal json.RawMessage
	Condition    json.RawMessage
}

func statements(doc []byte) []stmtJSON {
	var top struct{ Statement json.RawMessage }
	if json.Unmarshal(doc, &top) != nil {
		return nil
	}
	var list []stmtJSON
	if json.Unmarshal(top.Statement, &list) != nil {
		var one stmtJSON
		if json.Unmarshal(top.Statement, &one) != nil {
			return nil
		}
		list = []stmtJSON{one}
	}
	return list
}

func (s *stmtJSON) hasCondition() bool {
	c := strings.TrimSpace(string(s.Condition))
	return c != "" && c != "null" && c != "{}"
}

func (s *stmtJSON) actionMatches(action string) bool {
	list, not := s.Action, false
	if s.NotAction != nil {
		list, not = s.NotAction, true
	}
	hit := false
	for _, a := range list {
		if glob(strings.ToLower(a), strings.ToLower(action)) {
			hit = true
		}
	}
	return hit != not
}

func (s *stmtJSON) resourceMatches(arn, user string) bool {
	list, not := s.Resource, false
	if s.NotResource != nil {
		list, not = s.NotResource, true
	}
	hit := false
	for _, r := range list {
		r = strings.ReplaceAll(r, "${aws:username}", user)
		if glob(r, arn) {
			hit = true
		}
	}
	return hit != not
}

// principals returns the AWS principals of a trust statement ("*" for
// everyone) and whether it names services or identity providers.
func (s *stmtJSON) principals() (aws []string, other bool) {
	raw := strings.TrimSpace(string(s.Principal))
	if raw == `"*"` {
		return []string{"*"}, false
	}
	var obj map[string]stringList
	if json.Unmarshal(s.Principal, &obj) != nil {
		return nil, false
	}
	for k, v := range obj {
		if k == "AWS" {
			aws = append(aws, v...)
		} else {
			other = true
		}
	}
	return aws, other
}

// glob matches IAM's * and ? wildcards.
func glob(p, s string) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if glob(p[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
			p, s = p[1:], s[1:]
		default:
			if s == "" || p[0] != s[0] {
				return false
			}
			p, s = p[1:], s[1:]
		}
	}
	return s == ""
}

// account returns the account ID of an IAM ARN (arn:aws:iam::ACCOUNT:…).
func account(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}

// assumers lists the users that may assume role r (see the rules above).
func (m *mapper) assumers(r iamtypes.RoleDetail) []string {
	role, roleARN := str(r.RoleName), str(r.Arn)
	subject := fmt.Sprintf("role %q", role)
	if r.AssumeRolePolicyDocument == nil {
		return nil
	}
	doc, err := decodeDocument(*r.AssumeRolePolicyDocument)
	if err != nil {
		m.note(Skipped, subject, "trust policy: %v; no user holds the role", err)
		return nil
	}
	acct := account(roleARN)
	byARN := map[string]string{}
	for _, u := range m.snap.Users {
		byARN[str(u.Arn)] = str(u.UserName)
	}
	direct, denied := map[string]bool{}, map[string]bool{}
	viaAccount, denyAll, viaOther := false, false, false
	isAccount := func(p string) bool {
		return p == "*" || p == acct || p == "arn:aws:iam::"+acct+":root"
	}
	for _, s := range statements(doc) {
		if !s.actionMatches("sts:AssumeRole") {
			continue
		}
		if s.NotPrincipal != nil {
			m.note(Skipped, subject, "trust policy uses NotPrincipal: not evaluated, no user holds the role through it")
			continue
		}
		aws, other := s.principals()
		viaOther = viaOther || other
		if s.Effect == "Deny" {
			for _, p := range aws {
				if isAccount(p) {
					denyAll = true
				} else if u, ok := byARN[p]; ok {
					denied[u] = true
				}
			}
			continue
		}
		if s.Effect != "Allow" || len(aws) == 0 {
			continue
		}
		if s.hasCondition() {
			m.note(Skipped, subject, "trust statement with a Condition (not evaluated): no user holds the role through it")
			continue
		}
		for _, p := range aws {
			switch {
			case isAccount(p):
				viaAccount = true
			case byARN[p] != "":
				direct[byARN[p]] = true
			case strings.Contains(p, ":role/"):
				m.note(Skipped, subject, "assumable from role %s: role chaining is not imported", p)
			default:
				m.note(Info, subject, "trust names %s, which is no user of this account", p)
			}
		}
	}
	if viaOther && len(direct) == 0 && !viaAccount {
		m.note(Info, subject, "assumed through a service or identity provider only: no floe user holds it")
	}
	if denyAll {
		return nil
	}
	var out []string
	for _, u := range m.snap.Users {
		name := str(u.UserName)
		if denied[name] {
			continue
		}
		if direct[name] || viaAccount && m.identityAllows(u, "sts:AssumeRole", roleARN) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// identityAllows evaluates a user's own and its groups' identity policies
// (as read from IAM, before conversion) for one action on one ARN: an
// Allow without a Condition and no Deny, with or without one.
func (m *mapper) identityAllows(u iamtypes.UserDetail, action, arn string) bool {
	name := str(u.UserName)
	docs := append([][]byte(nil), m.inline["user:"+name]...)
	for _, a := range u.AttachedManagedPolicies {
		docs = append(docs, m.orig[str(a.PolicyArn)])
	}
	for _, g := range u.GroupList {
		docs = append(docs, m.inline["group:"+g]...)
		for _, gd := range m.snap.Groups {
			if str(gd.GroupName) == g {
				for _, a := range gd.AttachedManagedPolicies {
					docs = append(docs, m.orig[str(a.PolicyArn)])
				}
			}
		}
	}
	allow := false
	for _, d := range docs {
		for _, s := range statements(d) {
			if !s.actionMatches(action) || !s.resourceMatches(arn, name) {
				continue
			}
			switch s.Effect {
			case "Deny":
				return false
			case "Allow":
				allow = allow || !s.hasCondition()
			}
		}
	}
	return allow
}
