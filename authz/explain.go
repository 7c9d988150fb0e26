package authz

import (
	"fmt"
	"strings"
)

// Explain renders d for people: the decision and its reason, the
// statements that matched, the data filters, the row filter and the column
// rule. It never prints mask salts.
func (d *Decision) Explain() string {
	var b strings.Builder
	verdict := "DENY"
	if d.Allowed {
		verdict = "ALLOW"
	}
	fmt.Fprintf(&b, "decision: %s\nreason:   %s\n", verdict, d.Reason)
	if len(d.Matched) == 0 {
		b.WriteString("matched:  (no statement)\n")
	} else {
		b.WriteString("matched:\n")
		for _, m := range d.Matched {
			fmt.Fprintf(&b, "  %-5s %s\n", m.Effect, m)
		}
	}
	if !d.Allowed {
		return b.String()
	}
	if d.WholeTable {
		b.WriteString("access:   whole table\n")
	} else {
		fmt.Fprintf(&b, "access:   through data filters %s\n", strings.Join(d.Filters, ", "))
	}
	fmt.Fprintf(&b, "rows:     %s\n", d.RowFilter)
	fmt.Fprintf(&b, "columns:  %s\n", d.Columns.String())
	return b.String()
}
