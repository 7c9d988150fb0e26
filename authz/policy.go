package authz

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/casbin/casbin/v2"
)

// Files and folders of a policy directory (docs/policy.md).
const (
	PrincipalsFile = "principals.json"
	PoliciesDir    = "policies"
	FiltersDir     = "filters"
)

// ErrInvalidPolicy wraps every error Compile returns about the content of a
// policy directory.
var ErrInvalidPolicy = errors.New("invalid policy")

// CompileError names where a policy directory is wrong: the file (relative to
// the directory), the statement or object in it when there is one, and why.
type CompileError struct {
	File      string // e.g. "policies/clinical.json"
	Statement string // e.g. `statement "AllowSite" (#2)`, `user "alice"`, `filter "own_site"`; may be empty
	Reason    string
}

func (e *CompileError) Error() string {
	if e.Statement == "" {
		return e.File + ": " + e.Reason
	}
	return e.File + ": " + e.Statement + ": " + e.Reason
}

// Is makes errors.Is(err, ErrInvalidPolicy) hold.
func (e *CompileError) Is(target error) bool { return target == ErrInvalidPolicy }

// Options tune Compile. The zero value is the default.
type Options struct {
	// AdminUser is the bootstrap administrator (default "admin"). Unless
	// principals.json defines a user of that name, it is given an implicit
	// allow of every action on every resource (statement builtin#AdminAllowAll).
	// Defining it in principals.json governs it by its policies like any
	// other user.
	AdminUser string
}

// StatementRef names one statement of one policy document.
type StatementRef struct {
	Policy string // policy name (file name without .json)
	File   string // relative to the policy directory
	Sid    string // may be empty
	Index  int    // 1-based position in Statement
	Effect string // "Allow" or "Deny"
}

func (s StatementRef) String() string {
	if s.Sid != "" {
		return s.File + "#" + s.Sid
	}
	return fmt.Sprintf("%s#%d", s.File, s.Index)
}

// statement is a compiled policy statement.
type statement struct {
	ref     StatementRef
	key     string // unique key: the casbin "stmt" field
	allow   bool
	actions actionSet
	actKey  string // casbin "act" field
	res     *resourceMatcher
	resKey  string // casbin "obj" field
	cond    *condition
}

func (s *statement) matches(action actionSet, arn string, ctx *evalContext) bool {
	return s.actions&action != 0 && s.res.match(arn, ctx) && s.cond.eval(ctx)
}

// Policy is a compiled policy directory. It is immutable and safe for
// concurrent use; Holder swaps whole Policies on reload.
type Policy struct {
	serial uint64 // unique per compiled policy in this process
	dir    string
	admin  string

	enforcer *casbin.SyncedEnforcer
	lines    [][]string // p lines, for Compile output
	links    [][]string // g lines

	stmts    map[string]*statement       // by key
	acts     map[string]actionSet        // by actKey
	resMatch map[string]*resourceMatcher // by resKey

	userTags  map[string]map[string][]string // effective tags of each user
	userStmts map[string][]*statement        // statements reaching each user (for Matched)
	filters   map[Resource][]*dataFilter     // by table, sorted by name
	usesTime  bool

	cacheMu sync.Mutex
	cache   map[cacheKey]*Decision
}

// ---- file forms -------------------------------------------------------------

type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings")
	}
	*l = many
	return nil
}

type tagMap map[string][]string

func (t *tagMap) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("tags: want an object")
	}
	*t = tagMap{}
	for k, v := range raw {
		vals, err := conditionValues(v)
		if err != nil {
			return fmt.Errorf("tag %q: %w", k, err)
		}
		(*t)[k] = vals
	}
	return nil
}

type principalJSON struct {
	Groups   []string `json:"groups"`   // users only
	Roles    []string `json:"roles"`    // users and groups: roles they hold
	Inherits []string `json:"inherits"` // roles only: roles whose permissions this role adds
	Tags     tagMap   `json:"tags"`
	Policies []string `json:"policies"`
}

type principalsJSON struct {
	Users  map[string]principalJSON `json:"users"`
	Groups map[string]principalJSON `json:"groups"`
	Roles  map[string]principalJSON `json:"roles"`
}

type statementJSON struct {
	Sid         string                                `json:"Sid"`
	Effect      string                                `json:"Effect"`
	Principal   json.RawMessage                       `json:"Principal"`
	Action      stringList                            `json:"Action"`
	NotAction   stringList                            `json:"NotAction"`
	Resource    stringList                            `json:"Resource"`
	NotResource stringList                            `json:"NotResource"`
	Condition   map[string]map[string]json.RawMessage `json:"Condition"`
}

type documentJSON struct {
	Version   string          `json:"Version"`
	Id        string          `json:"Id"`
	Statement json.RawMessage `json:"Statement"`
}

type filtersJSON struct {
	Filters []filterJSON `json:"filters"`
}

func decodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON document")
	}
	return nil
}

// ---- compile ----------------------------------------------------------------

// policySerial numbers compiled policies (Policy.Serial).
var policySerial atomic.Uint64

// Serial identifies this compiled policy among all compiled in the process:
// caches of decisions derived from a policy key on it (a pointer could be
// reused once the old policy is freed).
func (p *Policy) Serial() uint64 { return p.serial }

// Compile reads and checks a policy directory and compiles it to a Casbin
// model and policy. Every problem found is reported (errors.Join of
// *CompileError values, each naming file, statement and reason); a missing
// directory is an empty policy (only the bootstrap admin may act).
func Compile(dir string, opts Options) (*Policy, error) {
	if opts.AdminUser == "" {
		opts.AdminUser = "admin"
	}
	c := &compiler{dir: dir, p: &Policy{
		serial:    policySerial.Add(1),
		dir:       dir,
		admin:     opts.AdminUser,
		stmts:     map[string]*statement{},
		acts:      map[string]actionSet{},
		resMatch:  map[string]*resourceMatcher{},
		userTags:  map[string]map[string][]string{},
		userStmts: map[string][]*statement{},
		filters:   map[Resource][]*dataFilter{},
		cache:     map[cacheKey]*Decision{},
	}}
	c.run()
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	if err := c.p.buildEnforcer(); err != nil {
		return nil, err
	}
	return c.p, nil
}

type compiler struct {
	dir  string
	p    *Policy
	errs []error
	docs map[string][]*statement // policy name -> statements
}

func (c *compiler) fail(file, where, format string, args ...any) {
	c.errs = append(c.errs, &CompileError{File: file, Statement: where, Reason: fmt.Sprintf(format, args...)})
}

func (c *compiler) run() {
	c.docs = map[string][]*statement{}
	c.readPolicies()
	c.readFilters()
	c.readPrincipals()
}

func (c *compiler) readPolicies() {
	files, _ := filepath.Glob(filepath.Join(c.dir, PoliciesDir, "*.json"))
	sort.Strings(files)
	for _, path := range files {
		rel := PoliciesDir + "/" + filepath.Base(path)
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		raw, err := os.ReadFile(path)
		if err != nil {
			c.fail(rel, "", "%v", err)
			continue
		}
		var doc documentJSON
		if err := decodeStrict(raw, &doc); err != nil {
			c.fail(rel, "", "%v", err)
			continue
		}
		if doc.Version != "2012-10-17" && doc.Version != "2008-10-17" {
			c.fail(rel, "", "Version %q: want \"2012-10-17\"", doc.Version)
			continue
		}
		var list []json.RawMessage
		if t := bytes.TrimSpace(doc.Statement); len(t) > 0 && t[0] == '{' {
			list = []json.RawMessage{doc.Statement}
		} else if err := json.Unmarshal(doc.Statement, &list); err != nil || len(list) == 0 {
			c.fail(rel, "", "Statement: want a statement or a non-empty list of statements")
			continue
		}
		sids := map[string]bool{}
		c.docs[name] = []*statement{}
		for i, sraw := range list {
			where := fmt.Sprintf("statement #%d", i+1)
			var sj statementJSON
			if err := decodeStrict(sraw, &sj); err != nil {
				c.fail(rel, where, "%v", err)
				continue
			}
			if sj.Sid != "" {
				where = fmt.Sprintf("statement %q (#%d)", sj.Sid, i+1)
				if sids[sj.Sid] {
					c.fail(rel, where, "duplicate Sid")
					continue
				}
				sids[sj.Sid] = true
			}
			ref := StatementRef{Policy: name, File: rel, Sid: sj.Sid, Index: i + 1}
			st, err := c.compileStatement(ref, &sj)
			if err != nil {
				c.fail(rel, where, "%v", err)
				continue
			}
			c.docs[name] = append(c.docs[name], st)
		}
	}
}

func (c *compiler) compileStatement(ref StatementRef, sj *statementJSON) (*statement, error) {
	st := &statement{ref: ref, key: ref.String()}
	switch sj.Effect {
	case "Allow":
		st.allow = true
	case "Deny":
	default:
		return nil, fmt.Errorf("Effect %q: want Allow or Deny", sj.Effect)
	}
	st.ref.Effect = sj.Effect
	if sj.Principal != nil {
		return nil, errors.New("Principal is not allowed: attach the policy to users, groups or roles in " + PrincipalsFile)
	}
	if (sj.Action == nil) == (sj.NotAction == nil) {
		return nil, errors.New("give exactly one of Action and NotAction")
	}
	if (sj.Resource == nil) == (sj.NotResource == nil) {
		return nil, errors.New("give exactly one of Resource and NotResource")
	}
	acts, err := compileActions(append(sj.Action, sj.NotAction...))
	if err != nil {
		return nil, err
	}
	if sj.NotAction != nil {
		acts = allActions &^ acts
	}
	st.actions = acts
	st.actKey = acts.String()
	if st.actKey == "" {
		st.actKey = "(none)"
	}
	m := &resourceMatcher{not: sj.NotResource != nil}
	for _, r := range append(sj.Resource, sj.NotResource...) {
		fr, err := compileResource(r)
		if err != nil {
			return nil, err
		}
		if fr == "" {
			continue
		}
		has, err := checkVariables(fr)
		if err != nil {
			return nil, fmt.Errorf("resource %q: %w", r, err)
		}
		m.vars = m.vars || has
		m.patterns = append(m.patterns, fr)
	}
	st.res = m
	st.resKey = strings.Join(m.patterns, "|")
	if m.not {
		st.resKey = "not:" + st.resKey
	}
	if st.resKey == "" {
		st.resKey = "(none)"
	}
	cond, err := compileCondition(sj.Condition)
	if err != nil {
		return nil, err
	}
	st.cond = cond
	if cond != nil && cond.usesTime {
		c.p.usesTime = true
	}
	c.p.stmts[st.key] = st
	c.p.acts[st.actKey] = st.actions
	c.p.resMatch[st.resKey] = st.res
	return st, nil
}

func (c *compiler) readFilters() {
	files, _ := filepath.Glob(filepath.Join(c.dir, FiltersDir, "*.json"))
	sort.Strings(files)
	seen := map[string]string{}
	for _, path := range files {
		rel := FiltersDir + "/" + filepath.Base(path)
		raw, err := os.ReadFile(path)
		if err != nil {
			c.fail(rel, "", "%v", err)
			continue
		}
		var fj filtersJSON
		if err := decodeStrict(raw, &fj); err != nil {
			c.fail(rel, "", "%v", err)
			continue
		}
		for i := range fj.Filters {
			f := &fj.Filters[i]
			where := fmt.Sprintf("filter #%d", i+1)
			if f.Name != "" {
				where = fmt.Sprintf("filter %q", f.Name)
			}
			df, err := compileFilter(f)
			if err != nil {
				c.fail(rel, where, "%v", err)
				continue
			}
			arn := df.table.FilterARN(df.name)
			if prev, dup := seen[arn]; dup {
				c.fail(rel, where, "duplicate filter on %s (also in %s)", df.table, prev)
				continue
			}
			seen[arn] = rel
			df.ref = rel + "#" + df.name
			c.p.filters[df.table] = append(c.p.filters[df.table], df)
		}
	}
	for _, list := range c.p.filters {
		sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	}
}

func (c *compiler) readPrincipals() {
	path := filepath.Join(c.dir, PrincipalsFile)
	var pj principalsJSON
	raw, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		c.fail(PrincipalsFile, "", "%v", err)
		return
	default:
		if err := decodeStrict(raw, &pj); err != nil {
			c.fail(PrincipalsFile, "", "%v", err)
			return
		}
	}
	p := c.p
	attach := func(sub, where string, names []string) {
		for _, n := range names {
			stmts, ok := c.docs[n]
			if !ok {
				c.fail(PrincipalsFile, where, "unknown policy %q (no %s/%s.json)", n, PoliciesDir, n)
				continue
			}
			for _, st := range stmts {
				eft := "deny"
				if st.allow {
					eft = "allow"
				}
				p.lines = append(p.lines, []string{sub, st.actKey, st.resKey, eft, st.key})
			}
		}
	}
	for _, name := range sortedKeys(pj.Roles) {
		r := pj.Roles[name]
		where := fmt.Sprintf("role %q", name)
		if r.Groups != nil || r.Roles != nil {
			c.fail(PrincipalsFile, where, "roles have \"inherits\", not \"groups\" or \"roles\"")
		}
		for _, parent := range r.Inherits {
			if _, ok := pj.Roles[parent]; !ok {
				c.fail(PrincipalsFile, where, "inherits unknown role %q", parent)
				continue
			}
			p.links = append(p.links, []string{"role:" + name, "role:" + parent})
		}
		attach("role:"+name, where, r.Policies)
	}
	for _, name := range sortedKeys(pj.Groups) {
		g := pj.Groups[name]
		where := fmt.Sprintf("group %q", name)
		if g.Groups != nil || g.Inherits != nil {
			c.fail(PrincipalsFile, where, "groups have \"roles\", not \"groups\" or \"inherits\"")
		}
		for _, r := range g.Roles {
			if _, ok := pj.Roles[r]; !ok {
				c.fail(PrincipalsFile, where, "unknown role %q", r)
				continue
			}
			p.links = append(p.links, []string{"group:" + name, "role:" + r})
		}
		attach("group:"+name, where, g.Policies)
	}
	if cyc := roleCycle(pj.Roles); cyc != "" {
		c.fail(PrincipalsFile, fmt.Sprintf("role %q", cyc), "role inheritance has a cycle")
		return
	}
	for _, name := range sortedKeys(pj.Users) {
		u := pj.Users[name]
		where := fmt.Sprintf("user %q", name)
		if name == "" || strings.ContainsAny(name, "${}*?") {
			c.fail(PrincipalsFile, where, "bad user name")
			continue
		}
		if u.Inherits != nil {
			c.fail(PrincipalsFile, where, "users have \"groups\" and \"roles\", not \"inherits\"")
		}
		sub := "user:" + name
		// Effective tags: the user's own; a key the user lacks takes the
		// union of the values its groups and roles (transitively) give it.
		tags := map[string][]string{}
		inherited := map[string]map[string]bool{}
		addInherited := func(t tagMap) {
			for k, vs := range t {
				if inherited[k] == nil {
					inherited[k] = map[string]bool{}
				}
				for _, v := range vs {
					inherited[k][v] = true
				}
			}
		}
		roles := map[string]bool{}
		var addRole func(string)
		addRole = func(r string) {
			if roles[r] {
				return
			}
			if _, ok := pj.Roles[r]; !ok {
				return
			}
			roles[r] = true
			addInherited(pj.Roles[r].Tags)
			for _, parent := range pj.Roles[r].Inherits {
				addRole(parent)
			}
		}
		subs := []string{sub}
		for _, g := range u.Groups {
			gj, ok := pj.Groups[g]
			if !ok {
				c.fail(PrincipalsFile, where, "unknown group %q", g)
				continue
			}
			p.links = append(p.links, []string{sub, "group:" + g})
			subs = append(subs, "group:"+g)
			addInherited(gj.Tags)
			for _, r := range gj.Roles {
				addRole(r)
			}
		}
		for _, r := range u.Roles {
			if _, ok := pj.Roles[r]; !ok {
				c.fail(PrincipalsFile, where, "unknown role %q", r)
				continue
			}
			p.links = append(p.links, []string{sub, "role:" + r})
			addRole(r)
		}
		for r := range roles {
			subs = append(subs, "role:"+r)
		}
		for k, set := range inherited {
			tags[k] = sortedKeys(set)
		}
		for k, vs := range u.Tags {
			tags[k] = vs
		}
		p.userTags[name] = tags
		attach(sub, where, u.Policies)
		// Statements reaching the user, for Decision.Matched.
		subSet := map[string]bool{}
		for _, s := range subs {
			subSet[s] = true
		}
		for _, l := range p.lines {
			if subSet[l[0]] {
				p.userStmts[name] = append(p.userStmts[name], p.stmts[l[4]])
			}
		}
	}
	if _, defined := pj.Users[p.admin]; !defined {
		admin := &statement{
			ref:     StatementRef{Policy: "builtin", File: "builtin", Sid: "AdminAllowAll", Index: 1, Effect: "Allow"},
			key:     "builtin#AdminAllowAll",
			allow:   true,
			actions: allActions,
			actKey:  allActions.String(),
			res:     &resourceMatcher{patterns: []string{"*"}},
			resKey:  "*",
		}
		p.stmts[admin.key], p.acts[admin.actKey], p.resMatch[admin.resKey] = admin, admin.actions, admin.res
		p.lines = append(p.lines, []string{"user:" + p.admin, admin.actKey, admin.resKey, "allow", admin.key})
		p.userStmts[p.admin] = []*statement{admin}
	}
}

func roleCycle(roles map[string]principalJSON) string {
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(string) bool
	visit = func(r string) bool {
		switch state[r] {
		case 1:
			return true
		case 2:
			return false
		}
		state[r] = 1
		for _, p := range roles[r].Inherits {
			if visit(p) {
				return true
			}
		}
		state[r] = 2
		return false
	}
	for _, r := range sortedKeys(roles) {
		if visit(r) {
			return r
		}
	}
	return ""
}

// Dir returns the directory p was compiled from.
func (p *Policy) Dir() string { return p.dir }

// ---- decisions -----------------------------------------------------------------

// Request is one question to the policy.
type Request struct {
	Principal       string // authenticated user name
	Action          string // one of the Action* constants
	Resource        Resource
	SourceIP        netip.Addr // client address; invalid when unknown (IpAddress conditions then fail)
	SecureTransport bool       // the client connection uses TLS
	Time            time.Time  // zero: now; conditions see it at second precision
}

// Decision is the policy's answer. Decisions may be shared between callers
// (they are cached): treat them and everything they point to as read-only.
type Decision struct {
	Allowed bool
	// WholeTable: the table (or namespace) itself is granted: no row filter
	// and every column unmasked. False with Allowed means access only
	// through the data filters listed in Filters.
	WholeTable bool
	// RowFilter admits the rows the principal may see: the OR of the granted
	// filters' row filters with principal tags substituted. nil: every row.
	RowFilter *Predicate
	// Columns is the union of the granted filters' column rules; every
	// column unmasked when WholeTable.
	Columns ColumnRule
	// Filters names the granted data filters that apply (sorted).
	Filters []string
	// Matched lists every statement that matched the request (the table
	// and each data filter), allow and deny, for explain and audit.
	Matched []StatementRef
	// Reason says why, in one line, naming the deciding statement.
	Reason string
}

type cacheKey struct {
	principal, action string
	res               Resource
	ip                netip.Addr
	secure            bool
	unix              int64
}

const maxCacheEntries = 1 << 14

// Decide answers req. It never fails: anything it cannot decide is denied
// with the reason. Decisions are cached per principal, action, resource and
// condition inputs (the time only when some condition tests it).
func (p *Policy) Decide(req Request) Decision {
	now := req.Time
	if now.IsZero() {
		now = time.Now()
	}
	now = now.Truncate(time.Second)
	key := cacheKey{principal: req.Principal, action: req.Action, res: req.Resource, ip: req.SourceIP, secure: req.SecureTransport}
	if p.usesTime {
		key.unix = now.Unix()
	}
	p.cacheMu.Lock()
	d, hit := p.cache[key]
	p.cacheMu.Unlock()
	if hit {
		return *d
	}
	dec := p.decide(req, now)
	p.cacheMu.Lock()
	if len(p.cache) >= maxCacheEntries {
		clear(p.cache)
	}
	p.cache[key] = &dec
	p.cacheMu.Unlock()
	return dec
}

func (p *Policy) decide(req Request, now time.Time) Decision {
	act, ok := actionBit(req.Action)
	if !ok {
		return Decision{Reason: fmt.Sprintf("unknown action %q", req.Action)}
	}
	action := floeActions[0]
	for i, a := range floeActions {
		if act == 1<<i {
			action = a
		}
	}
	ctx := &evalContext{user: req.Principal, tags: p.userTags[req.Principal], ip: req.SourceIP, secure: req.SecureTransport, now: now}
	sub := "user:" + req.Principal
	arn := req.Resource.ARN()

	var d Decision
	d.Matched = p.matched(req.Principal, act, arn, ctx, nil)
	allowed, explain, err := p.enforcer.EnforceEx(sub, action, arn, ctx)
	if err != nil {
		d.Reason = "policy evaluation failed: " + err.Error()
		return d
	}
	if allowed {
		d.Allowed, d.WholeTable = true, true
		d.Columns = ColumnRule{AllColumns: true}
		d.Reason = fmt.Sprintf("%s on %s allowed by %s", action, req.Resource, p.refOf(explain))
		return d
	}
	if len(explain) > 0 {
		d.Reason = fmt.Sprintf("%s on %s explicitly denied by %s", action, req.Resource, p.refOf(explain))
		return d
	}
	filters := p.filters[req.Resource]
	if action != ActionSelect || req.Resource.Table == "" || len(filters) == 0 {
		d.Reason = fmt.Sprintf("no statement allows %s on %s (default deny)", action, req.Resource)
		return d
	}
	// Select through data filters, as Lake Formation: a row is visible if
	// any granted filter admits it; the columns are the union.
	var (
		rows    []*Predicate
		allRows bool
		cols    []*ColumnRule
		denied  []string
	)
	for _, f := range filters {
		farn := req.Resource.FilterARN(f.name)
		d.Matched = p.matched(req.Principal, act, farn, ctx, d.Matched)
		ok, explain, err := p.enforcer.EnforceEx(sub, action, farn, ctx)
		if err != nil {
			d.Reason = "policy evaluation failed: " + err.Error()
			return Decision{Reason: d.Reason, Matched: d.Matched}
		}
		if !ok {
			if len(explain) > 0 {
				denied = append(denied, f.name+" (denied by "+p.refOf(explain)+")")
			}
			continue
		}
		d.Filters = append(d.Filters, f.name)
		if f.rows == nil {
			allRows = true
		} else {
			rows = append(rows, f.rows.instantiate(ctx))
		}
		cols = append(cols, &f.columns)
	}
	if len(d.Filters) == 0 {
		d.Reason = fmt.Sprintf("no statement allows %s on %s or any of its data filters (default deny)", action, req.Resource)
		if len(denied) > 0 {
			d.Reason += "; " + strings.Join(denied, ", ")
		}
		return d
	}
	d.Allowed = true
	switch {
	case allRows:
	case len(rows) == 1:
		d.RowFilter = rows[0]
	default:
		d.RowFilter = &Predicate{Op: OpOr, Args: rows}
	}
	d.Columns = unionColumns(cols)
	d.Reason = fmt.Sprintf("%s on %s allowed through data filters %s", action, req.Resource, strings.Join(d.Filters, ", "))
	return d
}

// matched appends the statements reaching principal that match.
func (p *Policy) matched(principal string, act actionSet, arn string, ctx *evalContext, out []StatementRef) []StatementRef {
	for _, st := range p.userStmts[principal] {
		if st.matches(act, arn, ctx) {
			dup := false
			for _, r := range out {
				if r == st.ref {
					dup = true
					break
				}
			}
			if !dup {
				out = append(out, st.ref)
			}
		}
	}
	return out
}

func (p *Policy) refOf(explain []string) string {
	if len(explain) == 5 {
		if st, ok := p.stmts[explain[4]]; ok {
			return st.ref.String()
		}
		return explain[4]
	}
	return strings.Join(explain, ", ")
}

// Visible answers catalog emulation for one table (req.Resource with a
// Table) or namespace (Table empty); req.Action is ignored. A table is
// visible to a principal who may Select it (wholly or through a data filter)
// or Describe it; the columns are those of the Select decision, or every
// column for Describe alone. A namespace is visible when Describe on its ARN
// is allowed; the gateway should also list a namespace that holds a visible
// table.
func (p *Policy) Visible(req Request) (bool, ColumnRule) {
	if req.Resource.Table != "" {
		req.Action = ActionSelect
		if d := p.Decide(req); d.Allowed {
			return true, d.Columns
		}
	}
	req.Action = ActionDescribe
	if d := p.Decide(req); d.Allowed {
		return true, ColumnRule{AllColumns: true}
	}
	return false, ColumnRule{}
}

// Filters lists the names of the data filters defined on a table, sorted.
func (p *Policy) Filters(table Resource) []string {
	var out []string
	for _, f := range p.filters[table] {
		out = append(out, f.name)
	}
	return out
}
