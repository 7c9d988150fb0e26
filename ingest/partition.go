package ingest

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/apache/iceberg-go"
)

// PartitionField is one entry of a stream's partition_by: an Iceberg
// transform of a source column.
type PartitionField struct {
	// Source is the column; "a.b" names field b of struct column a.
	Source    string
	Transform iceberg.Transform
	text      string // as configured, for messages
}

func (f PartitionField) String() string { return f.text }

// ParsePartitionBy parses the entries of a partition_by list:
//
//	col                  identity
//	identity(col)        identity
//	year(col)  month(col)  day(col)  hour(col)
//	bucket[N](col)       N ≥ 1 hash buckets
//	truncate[W](col)     W ≥ 1 (string prefix, or integer bin width)
//
// An error names the entry by its index: "[1] "day(ts": missing ')'".
// Whether a transform fits its column's type is known only once the column
// exists (see errLayout).
func ParsePartitionBy(entries []string) ([]PartitionField, error) {
	out := make([]PartitionField, 0, len(entries))
	for i, e := range entries {
		f, err := parsePartitionField(e)
		if err != nil {
			return nil, fmt.Errorf("[%d] %q: %w", i, e, err)
		}
		for j, g := range out {
			switch {
			case g.Source == f.Source && g.Transform.Equals(f.Transform):
				return nil, fmt.Errorf("[%d] %q: repeats [%d]", i, e, j)
			case g.Source == f.Source && isTime(g.Transform) && isTime(f.Transform):
				// Iceberg allows one time transform per column.
				return nil, fmt.Errorf("[%d] %q: [%d] %q partitions %s by time already; keep one of them", i, e, j, g.text, f.Source)
			case g.Source == f.Source && (isTime(g.Transform) && isTruncate(f.Transform) || isTruncate(g.Transform) && isTime(f.Transform)):
				return nil, fmt.Errorf("[%d] %q: [%d] %q needs %s to be a date or timestamp, which truncate cannot partition", i, e, j, g.text, f.Source)
			}
		}
		out = append(out, f)
	}
	return out, nil
}

func isTime(t iceberg.Transform) bool {
	_, ok := t.(iceberg.TimeTransform)
	return ok
}

func isTruncate(t iceberg.Transform) bool {
	_, ok := t.(iceberg.TruncateTransform)
	return ok
}

func parsePartitionField(entry string) (PartitionField, error) {
	s := strings.TrimSpace(entry)
	f := PartitionField{text: s}
	open := strings.IndexByte(s, '(')
	if open < 0 {
		if !strings.HasSuffix(s, ")") {
			col, err := partitionColumn(s)
			f.Source, f.Transform = col, iceberg.IdentityTransform{}
			return f, err
		}
		return f, errors.New("missing '('")
	}
	if !strings.HasSuffix(s, ")") {
		return f, errors.New("missing ')' at the end")
	}
	col, err := partitionColumn(s[open+1 : len(s)-1])
	if err != nil {
		return f, err
	}
	f.Source = col
	name := strings.TrimSpace(s[:open])
	arg := ""
	if lb := strings.IndexByte(name, '['); lb >= 0 {
		if !strings.HasSuffix(name, "]") {
			return f, fmt.Errorf("missing ']' after %q", name[:lb+1])
		}
		name, arg = strings.TrimSpace(name[:lb]), strings.TrimSpace(name[lb+1:len(name)-1])
	}
	name = strings.ToLower(name)
	switch name {
	case "identity", "year", "month", "day", "hour":
		if arg != "" {
			return f, fmt.Errorf("%s takes no [argument]", name)
		}
		f.Transform = map[string]iceberg.Transform{
			"identity": iceberg.IdentityTransform{},
			"year":     iceberg.YearTransform{},
			"month":    iceberg.MonthTransform{},
			"day":      iceberg.DayTransform{},
			"hour":     iceberg.HourTransform{},
		}[name]
	case "bucket", "truncate":
		n, err := strconv.Atoi(arg)
		if arg == "" || err != nil || n < 1 || n > math.MaxInt32 {
			return f, fmt.Errorf("%s needs a whole number from 1 to %d in brackets: %s[N](column)", name, math.MaxInt32, name)
		}
		if name == "bucket" {
			f.Transform = iceberg.BucketTransform{NumBuckets: n}
		} else {
			f.Transform = iceberg.TruncateTransform{Width: n}
		}
	default:
		return f, fmt.Errorf("unknown transform %q (identity, year, month, day, hour, bucket[N], truncate[W])", name)
	}
	return f, nil
}

// partitionColumn checks a source column reference: names separated by '.'
// for nested fields, none empty or holding brackets, commas, quotes or
// spaces.
func partitionColumn(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("no column")
	}
	if strings.ContainsAny(s, "()[],\"' \t") {
		return "", fmt.Errorf("%q is not a column name", s)
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" {
			return "", fmt.Errorf("%q is not a column name", s)
		}
	}
	return s, nil
}
