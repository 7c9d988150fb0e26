package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/floe-dev/floe/ingest"
)

// demoSnapshotMaxAge is the demo's snapshot retention when none is set.
const demoSnapshotMaxAge = 10 * time.Minute

// runDemo creates a clinical-trial dataset in namespace clinical and keeps
// streaming events into it through the same ingest path HTTP pushes take.
func runDemo(ctx context.Context, ing *ingest.Service, log *slog.Logger) error {
	g := &demoGen{rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7)), ing: ing}
	now := time.Now().UTC()
	sites := []row{}
	for i, s := range []struct{ name, country string }{
		{"Charité Berlin", "DE"}, {"Hôpital Necker Paris", "FR"}, {"Karolinska Stockholm", "SE"},
		{"Mass General Boston", "US"}, {"Royal Melbourne", "AU"},
	} {
		sites = append(sites, row{{"site_id", fmt.Sprintf("S%03d", i+1)}, {"name", s.name}, {"country", s.country}, {"opened_at", now.AddDate(0, -6, 0).Format(time.RFC3339)}})
	}
	if err := g.push(ctx, "sites", sites); err != nil {
		return err
	}
	var subjects []row
	for i := range 100 {
		// Column names match the example policy's filters (treatment_arm
		// hidden or shown by role, initials hashed, birth_date truncated).
		birth := time.Date(1940+g.rng.IntN(60), time.Month(1+g.rng.IntN(12)), 1+g.rng.IntN(28), 0, 0, 0, 0, time.UTC)
		initials := string(rune('A'+g.rng.IntN(26))) + string(rune('A'+g.rng.IntN(26)))
		subjects = append(subjects, row{{"subject_id", fmt.Sprintf("SUBJ-%04d", i+1)}, {"site_id", fmt.Sprintf("S%03d", i%5+1)}, {"initials", initials}, {"treatment_arm", []string{"placebo", "low_dose", "high_dose"}[i%3]}, {"sex", []string{"F", "M"}[g.rng.IntN(2)]}, {"birth_date", birth.Format(time.RFC3339)}, {"enrolled_at", now.AddDate(0, 0, -g.rng.IntN(120)).Format(time.RFC3339)}})
	}
	if err := g.push(ctx, "subjects", subjects); err != nil {
		return err
	}
	log.Info("demo: streaming clinical-trial events into namespace clinical")
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	visit, ae := 0, 0
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		t := time.Now().UTC()
		var vitals, labs, visits, aes []row
		for range 50 {
			s := subjects[g.rng.IntN(len(subjects))]
			vitals = append(vitals, row{{"subject_id", s.get("subject_id")}, {"site_id", s.get("site_id")}, {"recorded_at", t.Format(time.RFC3339Nano)}, {"heart_rate", 55 + g.rng.IntN(50)}, {"systolic_bp", 100 + g.rng.IntN(50)}, {"diastolic_bp", 60 + g.rng.IntN(30)}, {"temperature_c", measure(36.0 + g.rng.Float64()*2)}, {"spo2", 92 + g.rng.IntN(8)}})
		}
		for range 10 {
			s := subjects[g.rng.IntN(len(subjects))]
			test := []struct {
				code, unit string
				lo, hi     float64
			}{{"ALT", "U/L", 7, 56}, {"HGB", "g/dL", 12, 17.5}, {"CRP", "mg/L", 0, 10}, {"GLU", "mg/dL", 70, 140}}[g.rng.IntN(4)]
			v := test.lo + g.rng.Float64()*(test.hi-test.lo)*1.3
			labs = append(labs, row{{"subject_id", s.get("subject_id")}, {"site_id", s.get("site_id")}, {"test_code", test.code}, {"value", measure(v)}, {"unit", test.unit}, {"abnormal", v > test.hi}, {"collected_at", t.Format(time.RFC3339Nano)}})
		}
		if g.rng.IntN(3) == 0 {
			s := subjects[g.rng.IntN(len(subjects))]
			visit++
			visits = append(visits, row{{"visit_id", visit}, {"subject_id", s.get("subject_id")}, {"site_id", s.get("site_id")}, {"visit_type", []string{"screening", "baseline", "week_4", "week_12"}[g.rng.IntN(4)]}, {"visit_at", t.Format(time.RFC3339)}})
		}
		if g.rng.IntN(10) == 0 {
			s := subjects[g.rng.IntN(len(subjects))]
			ae++
			aes = append(aes, row{{"ae_id", ae}, {"subject_id", s.get("subject_id")}, {"site_id", s.get("site_id")}, {"term", []string{"headache", "nausea", "fatigue", "rash", "dizziness"}[g.rng.IntN(5)]}, {"severity", []string{"mild", "moderate", "severe"}[g.rng.IntN(3)]}, {"serious", g.rng.IntN(20) == 0}, {"onset_at", t.Format(time.RFC3339)}})
		}
		for _, b := range []struct {
			table string
			rows  []row
		}{{"vital_signs", vitals}, {"lab_results", labs}, {"visits", visits}, {"adverse_events", aes}} {
			if len(b.rows) == 0 {
				continue
			}
			if err := g.push(ctx, b.table, b.rows); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				log.Warn("demo: push failed", "table", b.table, "err", err)
			}
		}
	}
}

// row is one record with its fields in order, so that the inferred
// columns come out in a reading order rather than alphabetically.
type row []field

type field struct {
	name  string
	value any
}

func (r row) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range r {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.name)
		v, err := json.Marshal(f.value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func (r row) get(name string) any {
	for _, f := range r {
		if f.name == name {
			return f.value
		}
	}
	return nil
}

// measure is a measured value: always written with decimals, so that its
// column is inferred as double even when a value happens to be whole.
type measure float64

func (m measure) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(m), 'f', 2, 64)), nil
}

type demoGen struct {
	rng *rand.Rand
	ing *ingest.Service
}

func (g *demoGen) push(ctx context.Context, table string, rows []row) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	_, err := g.ing.Push(ctx, "clinical", table, &buf)
	return err
}
