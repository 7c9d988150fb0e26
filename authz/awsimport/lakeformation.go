package awsimport

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	lftypes "github.com/aws/aws-sdk-go-v2/service/lakeformation/types"

	"github.com/floe-dev/floe/authz"
)

// filterOut is the filters/*.json form of one data filter.
type filterOut struct {
	Name      string   `json:"name"`
	Namespace string   `json:"namespace"`
	Table     string   `json:"table"`
	RowFilter *pred    `json:"row_filter,omitempty"`
	Columns   *colsOut `json:"columns,omitempty"`
}

type colsOut struct {
	Include []string `json:"include,omitempty"`
	Exclude []string `json:"exclude,omitempty"`
}

type filtersOut struct {
	Filters []filterOut `json:"filters"`
}

// lakeFormation maps data cells filters to filters/DB.json and grants to
// one policy document per principal, policies/lakeformation.KIND.NAME.json.
func (m *mapper) lakeFormation() {
	s := m.snap
	if s.LakeFormationErr != nil {
		m.note(Skipped, "Lake Formation", "not read (%v): no data cells filters or Lake Formation grants imported", s.LakeFormationErr)
		return
	}
	if !s.LakeFormation {
		return
	}
	byDB := map[string][]filterOut{}
	known := map[string]bool{} // filter ARNs written
	for _, f := range s.DataCellsFilters {
		fo, ok := m.dataCellsFilter(f)
		if !ok {
			continue
		}
		byDB[fo.Namespace] = append(byDB[fo.Namespace], fo)
		known[authz.Resource{Namespace: fo.Namespace, Table: fo.Table}.FilterARN(fo.Name)] = true
	}

	type grantee struct{ kind, name string }
	stmts := map[grantee][]json.RawMessage{}
	for _, p := range s.Permissions {
		id := ""
		if p.Principal != nil {
			id = str(p.Principal.DataLakePrincipalIdentifier)
		}
		subject := "Lake Formation grant to " + id + " on " + describe(p.Resource)
		kind, name := m.lfPrincipal(id)
		if kind == "" {
			if id == "IAM_ALLOWED_PRINCIPALS" {
				m.note(Info, subject, "IAM_ALLOWED_PRINCIPALS: access follows the IAM policies, imported as they are")
			} else {
				m.note(Skipped, subject, "the principal is no IAM user or role of this account: not imported")
			}
			continue
		}
		if p.Condition != nil && str(p.Condition.Expression) != "" {
			m.note(Skipped, subject, "the grant has a condition (%s), which floe cannot evaluate: not imported", str(p.Condition.Expression))
			continue
		}
		actions, resources, why := m.lfGrant(p, byDB, known)
		if why != "" {
			m.note(Skipped, subject, "%s: not imported", why)
			continue
		}
		st := struct {
			Sid      string
			Effect   string
			Action   []string
			Resource []string
		}{fmt.Sprintf("LakeFormation%d", len(stmts[grantee{kind, name}])+1), "Allow", actions, resources}
		raw, _ := json.Marshal(st)
		if err := checkDocument((&iamDoc{version: "2012-10-17", stmts: []json.RawMessage{raw}}).encode()); err != nil {
			m.note(Skipped, subject, "floe cannot express it (%v): not imported", err)
			continue
		}
		g := grantee{kind, name}
		stmts[g] = append(stmts[g], raw)
	}
	for db, list := range byDB {
		sort.Slice(list, func(i, j int) bool {
			if list[i].Table != list[j].Table {
				return list[i].Table < list[j].Table
			}
			return list[i].Name < list[j].Name
		})
		raw, _ := json.MarshalIndent(filtersOut{Filters: list}, "", "  ")
		m.res.Files[authz.FiltersDir+"/"+db+".json"] = append(raw, '\n')
	}
	for g, list := range stmts {
		n := m.name("lakeformation." + g.kind + "." + g.name)
		m.docs[n] = &iamDoc{version: "2012-10-17", stmts: list}
		var p *principalOut
		if g.kind == "user" {
			p = m.pr.Users[g.name]
		} else {
			p = m.pr.Roles[g.name]
		}
		p.Policies = append(p.Policies, n)
	}
}

// dataCellsFilter maps one data cells filter, or notes why it cannot.
func (m *mapper) dataCellsFilter(f lftypes.DataCellsFilter) (filterOut, bool) {
	fo := filterOut{Name: str(f.Name), Namespace: str(f.DatabaseName), Table: str(f.TableName)}
	subject := fmt.Sprintf("data cells filter %s.%s/%s", fo.Namespace, fo.Table, fo.Name)
	if f.RowFilter != nil && f.RowFilter.AllRowsWildcard == nil {
		expr := str(f.RowFilter.FilterExpression)
		p, err := parseRowFilter(expr)
		if err != nil {
			m.note(Skipped, subject, "row filter %q: %v; the filter is not imported, so nobody reads the table through it", expr, err)
			return fo, false
		}
		fo.RowFilter = p
	}
	switch {
	case len(f.ColumnNames) > 0:
		fo.Columns = &colsOut{Include: sortedCopy(f.ColumnNames)}
	case f.ColumnWildcard != nil && len(f.ColumnWildcard.ExcludedColumnNames) > 0:
		fo.Columns = &colsOut{Exclude: sortedCopy(f.ColumnWildcard.ExcludedColumnNames)}
	}
	raw, _ := json.Marshal(filtersOut{Filters: []filterOut{fo}})
	if err := check(map[string][]byte{authz.FiltersDir + "/f.json": raw}, ""); err != nil {
		m.note(Skipped, subject, "floe cannot express it (%v): not imported", err)
		return fo, false
	}
	return fo, true
}

func sortedCopy(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return out
}

// lfPrincipal resolves a Lake Formation principal identifier to an
// imported IAM user or role.
func (m *mapper) lfPrincipal(id string) (kind, name string) {
	for _, u := range m.snap.Users {
		if str(u.Arn) == id {
			return "user", str(u.UserName)
		}
	}
	for _, r := range m.snap.Roles {
		if str(r.Arn) == id {
			return "role", str(r.RoleName)
		}
	}
	return "", ""
}

func describe(r *lftypes.Resource) string {
	switch {
	case r == nil:
		return "(no resource)"
	case r.DataCellsFilter != nil:
		return fmt.Sprintf("data cells filter %s.%s/%s", str(r.DataCellsFilter.DatabaseName), str(r.DataCellsFilter.TableName), str(r.DataCellsFilter.Name))
	case r.TableWithColumns != nil:
		return fmt.Sprintf("columns of table %s.%s", str(r.TableWithColumns.DatabaseName), str(r.TableWithColumns.Name))
	case r.Table != nil:
		if r.Table.TableWildcard != nil {
			return fmt.Sprintf("every table of %s", str(r.Table.DatabaseName))
		}
		return fmt.Sprintf("table %s.%s", str(r.Table.DatabaseName), str(r.Table.Name))
	case r.Database != nil:
		return "database " + str(r.Database.Name)
	case r.DataLocation != nil:
		return "data location " + str(r.DataLocation.ResourceArn)
	case r.LFTag != nil, r.LFTagPolicy != nil, r.LFTagExpression != nil:
		return "LF-tags"
	case r.Catalog != nil:
		return "the catalog"
	}
	return "(unknown resource)"
}

// tablePerms maps Lake Formation table permissions to floe actions.
var tablePerms = map[lftypes.Permission][]string{
	lftypes.PermissionSelect:    {authz.ActionSelect},
	lftypes.PermissionDescribe:  {authz.ActionDescribe},
	lftypes.PermissionInsert:    {authz.ActionInsert},
	lftypes.PermissionAlter:     {authz.ActionMaintain},
	lftypes.PermissionDrop:      {authz.ActionAdmin},
	lftypes.PermissionAll:       {"floe:*"},
	lftypes.PermissionSuperUser: {"floe:*"},
}

// databasePerms maps Lake Formation database permissions to floe actions.
var databasePerms = map[lftypes.Permission][]string{
	lftypes.PermissionDescribe:    {authz.ActionDescribe},
	lftypes.PermissionCreateTable: {authz.ActionAdmin},
	lftypes.PermissionAlter:       {authz.ActionAdmin},
	lftypes.PermissionDrop:        {authz.ActionAdmin},
	lftypes.PermissionAll:         {"floe:*"},
	lftypes.PermissionSuperUser:   {"floe:*"},
}

// lfGrant maps one grant to the Action and Resource of an Allow statement;
// why says what could not be mapped when nothing could.
func (m *mapper) lfGrant(p lftypes.PrincipalResourcePermissions, byDB map[string][]filterOut, known map[string]bool) (actions, resources []string, why string) {
	r := p.Resource
	perms := func(table map[lftypes.Permission][]string) []string {
		set := map[string]bool{}
		var unmapped []string
		for _, perm := range p.Permissions {
			if as, ok := table[perm]; ok {
				for _, a := range as {
					set[a] = true
				}
			} else {
				unmapped = append(unmapped, string(perm))
			}
		}
		if len(unmapped) > 0 && len(set) > 0 {
			m.note(Skipped, "Lake Formation grant to "+str(p.Principal.DataLakePrincipalIdentifier)+" on "+describe(r),
				"permissions %s have no floe counterpart: the others are imported", strings.Join(unmapped, ", "))
		}
		if set["floe:*"] {
			return []string{"floe:*"}
		}
		out := make([]string, 0, len(set))
		for a := range set {
			out = append(out, a)
		}
		sort.Strings(out)
		return out
	}
	none := func() string {
		ps := make([]string, len(p.Permissions))
		for i, x := range p.Permissions {
			ps[i] = string(x)
		}
		return "permissions " + strings.Join(ps, ", ") + " have no floe counterpart"
	}
	switch {
	case r == nil:
		return nil, nil, "no resource"
	case r.DataCellsFilter != nil:
		f := r.DataCellsFilter
		arn := authz.Resource{Namespace: str(f.DatabaseName), Table: str(f.TableName)}.FilterARN(str(f.Name))
		actions = perms(map[lftypes.Permission][]string{lftypes.PermissionSelect: {authz.ActionSelect}, lftypes.PermissionAll: {authz.ActionSelect}})
		if len(actions) == 0 {
			return nil, nil, none()
		}
		if !known[arn] {
			return nil, nil, "the data cells filter was not imported (see its note)"
		}
		return actions, []string{arn}, ""
	case r.TableWithColumns != nil:
		t := r.TableWithColumns
		actions = perms(map[lftypes.Permission][]string{lftypes.PermissionSelect: {authz.ActionSelect}})
		if len(actions) == 0 {
			return nil, nil, none()
		}
		res := authz.Resource{Namespace: str(t.DatabaseName), Table: str(t.Name)}
		fo := filterOut{Namespace: res.Namespace, Table: res.Table}
		switch {
		case len(t.ColumnNames) > 0:
			fo.Columns = &colsOut{Include: sortedCopy(t.ColumnNames)}
		case t.ColumnWildcard != nil && len(t.ColumnWildcard.ExcludedColumnNames) > 0:
			fo.Columns = &colsOut{Exclude: sortedCopy(t.ColumnWildcard.ExcludedColumnNames)}
		default: // every column: the table itself
			return actions, []string{res.ARN()}, ""
		}
		// A column grant is a data filter with no row filter.
		spec, _ := json.Marshal(fo.Columns)
		sum := sha256.Sum256(spec)
		fo.Name = "lf_columns_" + hex.EncodeToString(sum[:4])
		arn := res.FilterARN(fo.Name)
		if !known[arn] {
			raw, _ := json.Marshal(filtersOut{Filters: []filterOut{fo}})
			if err := check(map[string][]byte{authz.FiltersDir + "/f.json": raw}, ""); err != nil {
				return nil, nil, fmt.Sprintf("floe cannot express the column list (%v)", err)
			}
			byDB[fo.Namespace] = append(byDB[fo.Namespace], fo)
			known[arn] = true
		}
		return actions, []string{arn}, ""
	case r.Table != nil:
		actions = perms(tablePerms)
		if len(actions) == 0 {
			return nil, nil, none()
		}
		name := str(r.Table.Name)
		if r.Table.TableWildcard != nil {
			name = "*"
		}
		return actions, []string{"arn:floe:table/" + str(r.Table.DatabaseName) + "/" + name}, ""
	case r.Database != nil:
		actions = perms(databasePerms)
		if len(actions) == 0 {
			return nil, nil, none()
		}
		return actions, []string{authz.Resource{Namespace: str(r.Database.Name)}.ARN()}, ""
	}
	return nil, nil, "floe has no counterpart for grants on " + describe(r)
}
