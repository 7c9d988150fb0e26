package ingest

import (
	"strings"
	"testing"
)

func TestParsePartitionBy(t *testing.T) {
	good := map[string]string{
		"site_id":            "identity site_id",
		" identity(site) ":   "identity site",
		"year(at)":           "year at",
		"Month(at)":          "month at",
		"day( recorded_at )": "day recorded_at",
		"hour(at)":           "hour at",
		"bucket[16](id)":     "bucket[16] id",
		"truncate[4](name)":  "truncate[4] name",
		"day(meta.at)":       "day meta.at",
	}
	for in, want := range good {
		fs, err := ParsePartitionBy([]string{in})
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if got := fs[0].Transform.String() + " " + fs[0].Source; got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
	bad := []struct {
		in   []string
		want string
	}{
		{[]string{""}, `[0] "": no column`},
		{[]string{"day(at"}, `[0] "day(at": missing ')' at the end`},
		{[]string{"site", "day)"}, `[1] "day)": missing '('`},
		{[]string{"week(at)"}, `[0] "week(at)": unknown transform "week" (identity, year, month, day, hour, bucket[N], truncate[W])`},
		{[]string{"bucket(id)"}, `[0] "bucket(id)": bucket needs a whole number from 1 to 2147483647 in brackets: bucket[N](column)`},
		{[]string{"bucket[0](id)"}, `bucket needs a whole number from 1`},
		{[]string{"truncate[x](id)"}, `truncate needs a whole number from 1`},
		{[]string{"bucket[4(id)"}, `missing ']'`},
		{[]string{"day[2](at)"}, `day takes no [argument]`},
		{[]string{"day()"}, `[0] "day()": no column`},
		{[]string{"day(a b)"}, `"a b" is not a column name`},
		{[]string{"day(a..b)"}, `"a..b" is not a column name`},
		{[]string{"site", "identity(site)"}, `[1] "identity(site)": repeats [0]`},
		{[]string{"day(at)", "hour(at)"}, `[1] "hour(at)": [0] "day(at)" partitions at by time already; keep one of them`},
		{[]string{"truncate[4](at)", "month(at)"}, `[1] "month(at)": [0] "truncate[4](at)" needs at to be a date or timestamp, which truncate cannot partition`},
	}
	for _, c := range bad {
		_, err := ParsePartitionBy(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.in, err, c.want)
		}
	}
	if _, err := ParsePartitionBy([]string{"site", "bucket[8](site)", "day(at)", "truncate[3](site)"}); err != nil {
		t.Errorf("several transforms of one column: %v", err)
	}
}
