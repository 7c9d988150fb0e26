package awsimport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/floe-dev/floe/authz"
)

// Options tune Map.
type Options struct {
	// AdminUser is floe's bootstrap administrator (authz.Options.AdminUser,
	// default "admin"): an IAM user of that name takes it over, which Map
	// notes.
	AdminUser string
}

// Note is one thing Map could not carry over as it is, or changed.
type Note struct {
	Severity Severity
	Subject  string // e.g. `policy "s3-read" statement "Mfa" (#2)`, `data cells filter clinical.subjects/own_site`
	Text     string
}

// Severity says which way a Note moves access.
type Severity string

const (
	// Info: nothing floe decides changes (e.g. an AWS-only role).
	Info Severity = "info"
	// Skipped: left out; floe grants less than AWS did (fails closed).
	Skipped Severity = "skipped"
	// Warning: floe may grant more than AWS did; review it.
	Warning Severity = "warning"
)

func (n Note) String() string { return string(n.Severity) + ": " + n.Subject + ": " + n.Text }

// Result is a policy directory to write: file contents by path relative to
// the directory (principals.json, policies/NAME.json, filters/DB.json).
type Result struct {
	Files map[string][]byte
	Notes []Note
}

// Paths lists the files in order.
func (r *Result) Paths() []string {
	out := make([]string, 0, len(r.Files))
	for p := range r.Files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// principalOut is the principals.json form of one principal.
type principalOut struct {
	Groups   []string          `json:"groups,omitempty"`
	Roles    []string          `json:"roles,omitempty"`
	Tags     map[string]string `json:"tags,omitempty"`
	Policies []string          `json:"policies,omitempty"`
}

type principalsOut struct {
	Users  map[string]*principalOut `json:"users"`
	Groups map[string]*principalOut `json:"groups"`
	Roles  map[string]*principalOut `json:"roles"`
}

// mapper holds the state of one Map call.
type mapper struct {
	opts   Options
	snap   *Snapshot
	res    *Result
	pr     principalsOut
	names  map[string]bool     // policy names taken
	docs   map[string]*iamDoc  // written policy name -> document
	byARN  map[string]string   // managed policy ARN -> written policy name ("" if skipped)
	orig   map[string][]byte   // managed policy ARN -> decoded default version (for trust evaluation)
	inline map[string][][]byte // "user:NAME"/"group:NAME" -> decoded inline documents
}

// Map turns a Snapshot into a policy directory. It returns an error only if
// what it produced does not compile (a bug); everything floe cannot express
// is a Note.
func Map(snap *Snapshot, opts Options) (*Result, error) {
	if opts.AdminUser == "" {
		opts.AdminUser = "admin"
	}
	m := &mapper{
		opts:   opts,
		snap:   snap,
		res:    &Result{Files: map[string][]byte{}},
		pr:     principalsOut{Users: map[string]*principalOut{}, Groups: map[string]*principalOut{}, Roles: map[string]*principalOut{}},
		names:  map[string]bool{},
		docs:   map[string]*iamDoc{},
		byARN:  map[string]string{},
		orig:   map[string][]byte{},
		inline: map[string][][]byte{},
	}
	m.managedPolicies()
	m.groups()
	m.users()
	m.roles()
	m.lakeFormation()
	for name, d := range m.docs {
		m.res.Files[authz.PoliciesDir+"/"+name+".json"] = d.encode()
	}
	raw, err := json.MarshalIndent(m.pr, "", "  ")
	if err != nil {
		return nil, err
	}
	m.res.Files[authz.PrincipalsFile] = append(raw, '\n')
	if err := check(m.res.Files, opts.AdminUser); err != nil {
		return nil, fmt.Errorf("the imported policy does not compile (a bug in the importer): %w", err)
	}
	sort.SliceStable(m.res.Notes, func(i, j int) bool { return rank(m.res.Notes[i].Severity) > rank(m.res.Notes[j].Severity) })
	return m.res, nil
}

func rank(s Severity) int {
	switch s {
	case Warning:
		return 2
	case Skipped:
		return 1
	}
	return 0
}

func (m *mapper) note(sev Severity, subject, format string, args ...any) {
	m.res.Notes = append(m.res.Notes, Note{Severity: sev, Subject: subject, Text: fmt.Sprintf(format, args...)})
}

// name reserves a unique policy name based on want.
func (m *mapper) name(want string) string {
	n := want
	for i := 2; m.names[n]; i++ {
		n = fmt.Sprintf("%s-%d", want, i)
	}
	m.names[n] = true
	return n
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// decodeDocument undoes the URL encoding IAM applies to policy documents
// in its responses (RFC 3986); a document that already is JSON is kept.
func decodeDocument(s string) ([]byte, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "{") {
		return []byte(t), nil
	}
	for _, unescape := range []func(string) (string, error){url.PathUnescape, url.QueryUnescape} {
		if d, err := unescape(t); err == nil && json.Valid([]byte(d)) {
			return []byte(d), nil
		}
	}
	return nil, errors.New("policy document is neither JSON nor URL-encoded JSON")
}

// ---- policy documents -------------------------------------------------------

// iamDoc is a policy document as written: the statements kept, in order.
type iamDoc struct {
	version string
	id      string
	stmts   []json.RawMessage
}

func (d *iamDoc) encode() []byte {
	var b bytes.Buffer
	b.WriteString("{\n  \"Version\": ")
	v, _ := json.Marshal(d.version)
	b.Write(v)
	if d.id != "" {
		id, _ := json.Marshal(d.id)
		b.WriteString(",\n  \"Id\": ")
		b.Write(id)
	}
	b.WriteString(",\n  \"Statement\": [")
	for i, s := range d.stmts {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n    ")
		var ind bytes.Buffer
		if err := json.Indent(&ind, s, "    ", "  "); err != nil {
			b.Write(s)
		} else {
			b.Write(ind.Bytes())
		}
	}
	b.WriteString("\n  ]\n}\n")
	return b.Bytes()
}

// convert checks an IAM document against what floe can express. Statements
// floe accepts are kept as they are. An Allow it cannot express is dropped
// (floe grants less); a Deny whose Condition it cannot evaluate is kept
// without the Condition (it denies more); a Deny it cannot read at all is
// dropped with a warning. It returns nil when nothing is left.
func (m *mapper) convert(subject string, raw []byte) *iamDoc {
	var top struct {
		Version   string          `json:"Version"`
		Id        string          `json:"Id"`
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal(raw, &top); err != nil {
		m.note(Skipped, subject, "not a JSON policy document: %v", err)
		return nil
	}
	d := &iamDoc{version: top.Version, id: top.Id}
	if d.version == "" {
		d.version = "2008-10-17" // IAM's default when Version is absent
	}
	var list []json.RawMessage
	if t := bytes.TrimSpace(top.Statement); len(t) > 0 && t[0] == '{' {
		list = []json.RawMessage{t}
	} else if err := json.Unmarshal(top.Statement, &list); err != nil || len(list) == 0 {
		m.note(Skipped, subject, "no Statement list")
		return nil
	}
	whole := &iamDoc{version: d.version, id: d.id, stmts: list}
	if checkDocument(whole.encode()) == nil {
		return whole
	}
	for i, s := range list {
		var sj struct {
			Sid    string `json:"Sid"`
			Effect string `json:"Effect"`
		}
		_ = json.Unmarshal(s, &sj)
		where := fmt.Sprintf("%s statement #%d", subject, i+1)
		if sj.Sid != "" {
			where = fmt.Sprintf("%s statement %q (#%d)", subject, sj.Sid, i+1)
		}
		one := &iamDoc{version: d.version, stmts: []json.RawMessage{s}}
		err := checkDocument(one.encode())
		if err == nil {
			d.stmts = append(d.stmts, s)
			continue
		}
		if sj.Effect != "Deny" {
			m.note(Skipped, where, "dropped, floe cannot express it (%v): floe grants less than AWS here", err)
			continue
		}
		if bare, ok := withoutCondition(s); ok {
			one.stmts[0] = bare
			if checkDocument(one.encode()) == nil {
				d.stmts = append(d.stmts, bare)
				m.note(Skipped, where, "Deny kept without its Condition, which floe cannot evaluate (%v): it denies more in floe than in AWS", err)
				continue
			}
		}
		m.note(Warning, where, "Deny dropped, floe cannot express it (%v): floe may ALLOW MORE than AWS here, review it", err)
	}
	if len(d.stmts) == 0 {
		m.note(Skipped, subject, "no statement floe can express: not imported")
		return nil
	}
	return d
}

func withoutCondition(s json.RawMessage) (json.RawMessage, bool) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(s, &fields); err != nil {
		return nil, false
	}
	if _, ok := fields["Condition"]; !ok {
		return nil, false
	}
	delete(fields, "Condition")
	out, err := json.Marshal(fields)
	return out, err == nil
}

// checkDocument compiles one policy document alone with authz and returns
// the reasons it is refused.
func checkDocument(doc []byte) error {
	return check(map[string][]byte{authz.PoliciesDir + "/p.json": doc}, "")
}

// check writes files into a temporary directory and compiles it.
func check(files map[string][]byte, admin string) error {
	dir, err := os.MkdirTemp("", "floe-awsimport-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := writeFiles(dir, files); err != nil {
		return err
	}
	_, err = authz.Compile(dir, authz.Options{AdminUser: admin})
	if err == nil {
		return nil
	}
	var reasons []string
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var ce *authz.CompileError
		if errors.As(e, &ce) && len(files) == 1 {
			reasons = append(reasons, ce.Reason)
			return
		}
		reasons = append(reasons, e.Error())
	}
	walk(err)
	return errors.New(strings.Join(reasons, "; "))
}

func writeFiles(dir string, files map[string][]byte) error {
	for rel, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// ---- principals and their policies ----------------------------------------------

// managedPolicies converts the default version of every customer managed
// policy, and of every AWS managed policy some principal has attached.
func (m *mapper) managedPolicies() {
	attached := map[string]bool{}
	for _, u := range m.snap.Users {
		for _, a := range u.AttachedManagedPolicies {
			attached[str(a.PolicyArn)] = true
		}
	}
	for _, g := range m.snap.Groups {
		for _, a := range g.AttachedManagedPolicies {
			attached[str(a.PolicyArn)] = true
		}
	}
	for _, r := range m.snap.Roles {
		for _, a := range r.AttachedManagedPolicies {
			attached[str(a.PolicyArn)] = true
		}
	}
	pols := append([]iamtypes.ManagedPolicyDetail(nil), m.snap.Policies...)
	sort.Slice(pols, func(i, j int) bool { return str(pols[i].Arn) < str(pols[j].Arn) })
	for _, p := range pols {
		arn, name := str(p.Arn), str(p.PolicyName)
		if name == "" { // the ARN's last path segment: arn:aws:iam::ACCOUNT:policy/PATH/NAME
			name = arn[strings.LastIndex(arn, "/")+1:]
		}
		awsManaged := strings.Contains(arn, ":iam::aws:policy/")
		if awsManaged && !attached[arn] {
			continue
		}
		subject := fmt.Sprintf("managed policy %q", name)
		var doc *string
		for _, v := range p.PolicyVersionList {
			if v.IsDefaultVersion || (p.DefaultVersionId != nil && str(v.VersionId) == *p.DefaultVersionId) {
				doc = v.Document
				break
			}
		}
		if doc == nil {
			m.note(Skipped, subject, "no default version in the response: not imported")
			continue
		}
		raw, err := decodeDocument(*doc)
		if err != nil {
			m.note(Skipped, subject, "%v", err)
			continue
		}
		m.orig[arn] = raw
		want := name
		if awsManaged {
			want = "aws." + name
		}
		d := m.convert(subject, raw)
		if d == nil {
			m.byARN[arn] = ""
			continue
		}
		n := m.name(want)
		m.docs[n] = d
		m.byARN[arn] = n
	}
}

// attach resolves managed and inline policies of one principal to the
// policy names written. kind is "user", "group" or "role".
func (m *mapper) attach(kind, who string, managed []iamtypes.AttachedPolicy, inline []iamtypes.PolicyDetail) []string {
	var out []string
	for _, a := range managed {
		arn := str(a.PolicyArn)
		n, ok := m.byARN[arn]
		switch {
		case !ok:
			m.note(Skipped, fmt.Sprintf("%s %q", kind, who), "attached policy %s is not in the account's details: not imported", arn)
		case n != "":
			out = append(out, n)
		}
	}
	for _, p := range inline {
		pname := str(p.PolicyName)
		subject := fmt.Sprintf("inline policy %q of %s %q", pname, kind, who)
		raw, err := decodeDocument(str(p.PolicyDocument))
		if err != nil {
			m.note(Skipped, subject, "%v", err)
			continue
		}
		if kind != "role" {
			m.inline[kind+":"+who] = append(m.inline[kind+":"+who], raw)
		}
		d := m.convert(subject, raw)
		if d == nil {
			continue
		}
		n := m.name(kind + "." + who + "." + pname)
		m.docs[n] = d
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func tags(ts []iamtypes.Tag) map[string]string {
	if len(ts) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, t := range ts {
		out[str(t.Key)] = str(t.Value)
	}
	return out
}

func (m *mapper) groups() {
	for _, g := range m.snap.Groups {
		name := str(g.GroupName)
		m.pr.Groups[name] = &principalOut{Policies: m.attach("group", name, g.AttachedManagedPolicies, g.GroupPolicyList)}
	}
}

func (m *mapper) users() {
	for _, u := range m.snap.Users {
		name := str(u.UserName)
		subject := fmt.Sprintf("user %q", name)
		p := &principalOut{Tags: tags(u.Tags), Policies: m.attach("user", name, u.AttachedManagedPolicies, u.UserPolicyList)}
		for _, g := range u.GroupList {
			if _, ok := m.pr.Groups[g]; ok {
				p.Groups = append(p.Groups, g)
			} else {
				m.note(Skipped, subject, "member of group %q, which is not in the account's details", g)
			}
		}
		sort.Strings(p.Groups)
		if u.PermissionsBoundary != nil {
			m.note(Warning, subject, "permissions boundary %s is not imported (floe has no boundaries): floe may ALLOW MORE than AWS", str(u.PermissionsBoundary.PermissionsBoundaryArn))
		}
		if name == m.opts.AdminUser {
			m.note(Info, subject, "has floe's bootstrap admin name: the admin is now governed by these policies, not allowed everything")
		}
		m.pr.Users[name] = p
	}
}

// roles writes each role with its tags and policies, and gives it to the
// users its trust policy lets assume it (see trust.go).
func (m *mapper) roles() {
	for _, r := range m.snap.Roles {
		name := str(r.RoleName)
		m.pr.Roles[name] = &principalOut{Tags: tags(r.Tags), Policies: m.attach("role", name, r.AttachedManagedPolicies, r.RolePolicyList)}
		if r.PermissionsBoundary != nil {
			m.note(Warning, fmt.Sprintf("role %q", name), "permissions boundary %s is not imported (floe has no boundaries): floe may ALLOW MORE than AWS", str(r.PermissionsBoundary.PermissionsBoundaryArn))
		}
	}
	for _, r := range m.snap.Roles {
		for _, u := range m.assumers(r) {
			p := m.pr.Users[u]
			p.Roles = append(p.Roles, str(r.RoleName))
			sort.Strings(p.Roles)
		}
	}
}
