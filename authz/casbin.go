package authz

import (
	"errors"
	"fmt"
	"strings"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
)

// casbinModel is the Casbin model every policy compiles to:
//   - r.sub is "user:NAME"; p.sub a user, "group:NAME" or "role:NAME"; g
//     links users to groups and roles, groups to roles and roles to the
//     roles they inherit (Casbin resolves the hierarchy).
//   - p.act is the set of floe actions a statement covers (NotAction
//     already complemented), joined with "|".
//   - p.obj is the statement's floe-form ARN patterns joined with "|",
//     prefixed "not:" for NotResource; policy variables are substituted per
//     request by resourceMatch.
//   - p.stmt names the statement; conditionMatch evaluates its Condition
//     block against r.ctx (user, tags, source address, TLS, time).
//   - The effect is IAM's: default deny, an explicit deny wins.
const casbinModel = `[request_definition]
r = sub, act, obj, ctx

[policy_definition]
p = sub, act, obj, eft, stmt

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = g(r.sub, p.sub) && actionMatch(r.act, p.act) && resourceMatch(r.obj, p.obj, r.ctx) && conditionMatch(p.stmt, r.ctx)
`

func (p *Policy) buildEnforcer() error {
	m, err := model.NewModelFromString(casbinModel)
	if err != nil {
		return fmt.Errorf("casbin model: %w", err)
	}
	e, err := casbin.NewSyncedEnforcer(m)
	if err != nil {
		return fmt.Errorf("casbin enforcer: %w", err)
	}
	e.EnableLog(false)
	e.AddFunction("actionMatch", func(args ...any) (any, error) {
		req, _ := args[0].(string)
		set, ok := p.acts[args[1].(string)]
		if !ok {
			return false, nil
		}
		b, _ := actionBit(req)
		return set&b != 0, nil
	})
	e.AddFunction("resourceMatch", func(args ...any) (any, error) {
		m, ok := p.resMatch[args[1].(string)]
		ctx, _ := args[2].(*evalContext)
		if !ok || ctx == nil {
			return false, nil
		}
		return m.match(args[0].(string), ctx), nil
	})
	e.AddFunction("conditionMatch", func(args ...any) (any, error) {
		st, ok := p.stmts[args[0].(string)]
		ctx, _ := args[1].(*evalContext)
		if !ok || ctx == nil {
			return false, errors.New("unknown statement " + args[0].(string))
		}
		return st.cond.eval(ctx), nil
	})
	if len(p.links) > 0 {
		if _, err := e.AddGroupingPolicies(p.links); err != nil {
			return fmt.Errorf("casbin roles: %w", err)
		}
	}
	if len(p.lines) > 0 {
		if _, err := e.AddPoliciesEx(p.lines); err != nil {
			return fmt.Errorf("casbin policy: %w", err)
		}
	}
	p.enforcer = e
	return nil
}

// CasbinModel returns the Casbin model text policies compile to.
func CasbinModel() string { return casbinModel }

// CasbinPolicy returns the compiled Casbin policy in Casbin's CSV form: the
// role links (g) then the statements attached to each principal (p), one
// line each, plus a comment per statement with a Condition.
func (p *Policy) CasbinPolicy() string {
	var b strings.Builder
	for _, l := range p.links {
		fmt.Fprintf(&b, "g, %s\n", strings.Join(l, ", "))
	}
	for _, l := range p.lines {
		fmt.Fprintf(&b, "p, %s\n", strings.Join(l, ", "))
	}
	done := map[string]bool{}
	for _, l := range p.lines {
		st := p.stmts[l[4]]
		if st.cond == nil || done[st.key] {
			continue
		}
		done[st.key] = true
		parts := make([]string, len(st.cond.clauses))
		for i := range st.cond.clauses {
			parts[i] = st.cond.clauses[i].String()
		}
		fmt.Fprintf(&b, "# condition %s: %s\n", st.key, strings.Join(parts, " AND "))
	}
	return b.String()
}
