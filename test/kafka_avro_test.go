package test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Avro suites: a real schema registry (MustSchemaRegistry: Apicurio's
// Confluent-compatible API, compatibility BACKWARD) and a real broker;
// schemas are registered through the registry's REST API and records are
// produced in the Confluent wire format (magic 0, schema id, Avro binary
// encoded with hamba/avro).

const vitalV1 = `{"type": "record", "name": "Vital", "namespace": "e2e", "fields": [
  {"name": "id", "type": "long"},
  {"name": "site", "type": "string"},
  {"name": "hr", "type": "int"},
  {"name": "temp", "type": "float"},
  {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
  {"name": "day", "type": {"type": "int", "logicalType": "date"}},
  {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}},
  {"name": "uid", "type": {"type": "string", "logicalType": "uuid"}},
  {"name": "tags", "type": {"type": "array", "items": "string"}},
  {"name": "attrs", "type": {"type": "map", "values": "long"}},
  {"name": "device", "type": {"type": "record", "name": "Device", "fields": [
    {"name": "model", "type": "string"},
    {"name": "fw", "type": ["null", "int"]}]}},
  {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["ROUTINE", "ALERT"]}},
  {"name": "note", "type": ["null", "string"], "default": null}
]}`

// vitalV2 adds spo2 with a default (BACKWARD-compatible) and widens hr to
// long and temp to double (readers of v2 can read v1 data).
var vitalV2 = strings.Replace(strings.Replace(strings.Replace(vitalV1,
	`{"name": "hr", "type": "int"}`, `{"name": "hr", "type": "long"}`, 1),
	`{"name": "temp", "type": "float"}`, `{"name": "temp", "type": "double"}`, 1),
	`{"name": "note", "type": ["null", "string"], "default": null}`,
	`{"name": "note", "type": ["null", "string"], "default": null},
  {"name": "spo2", "type": "int", "default": 98}`, 1)

// vitalBad changes site to a long: not BACKWARD-compatible.
var vitalBad = strings.Replace(vitalV1, `{"name": "site", "type": "string"}`, `{"name": "site", "type": "long"}`, 1)

// vital returns the record with id for schema version v (1 or 2).
func vital(id int64, v int) map[string]any {
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(id%30))
	m := map[string]any{
		"id":     id,
		"site":   fmt.Sprintf("S-%d", id%7),
		"at":     time.UnixMilli(1_780_000_000_000 + id).UTC(),
		"day":    day,
		"amount": big.NewRat(id*100+25, 100), // id.25
		"uid":    fmt.Sprintf("00000000-0000-4000-8000-%012d", id),
		"tags":   []any{"a", fmt.Sprintf("t%d", id%3)},
		"attrs":  map[string]any{"n": id * 2},
		"device": map[string]any{"model": "M1", "fw": nil},
		"kind":   "ROUTINE",
		"note":   nil,
	}
	if id%5 == 0 {
		m["device"] = map[string]any{"model": "M2", "fw": map[string]any{"int": 7}}
		m["note"] = map[string]any{"string": fmt.Sprintf("note %d", id)}
		m["kind"] = "ALERT"
	}
	if v == 1 {
		m["hr"], m["temp"] = int(50+id%60), float32(36.5)
	} else {
		m["hr"], m["temp"], m["spo2"] = int64(50+id%60), 36.75, int(90+id%10)
	}
	return m
}

// confluent frames an Avro payload in the Confluent wire format.
func confluent(id int, payload []byte) []byte {
	b := make([]byte, 5, 5+len(payload))
	binary.BigEndian.PutUint32(b[1:], uint32(id))
	return append(b, payload...)
}

// produceRaw sends values to topic and records where they went in l: good
// records by id, the others as poison.
func produceRaw(tb testing.TB, cl *kgo.Client, l *kafkaLog, topic string, recs []rawRecord) {
	tb.Helper()
	var wg sync.WaitGroup
	var failed atomic.Value
	for _, r := range recs {
		wg.Add(1)
		cl.Produce(context.Background(), &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf("k-%d", r.id)), Value: r.value},
			func(kr *kgo.Record, err error) {
				defer wg.Done()
				if err != nil {
					failed.Store(err)
					return
				}
				pos := kafkaPos{kr.Partition, kr.Offset}
				l.mu.Lock()
				if r.poison {
					l.poison[pos] = true
				} else {
					l.good[r.id] = pos
				}
				l.ends[kr.Partition] = max(l.ends[kr.Partition], kr.Offset+1)
				l.mu.Unlock()
			})
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		tb.Fatalf("produce to %s: %v", topic, err)
	}
}

type rawRecord struct {
	id     int64
	value  []byte
	poison bool
}

// avroRecords encodes records [from, from+n) with schema sc registered as id.
func avroRecords(tb testing.TB, sc avro.Schema, id int, v int, from, n int64) []rawRecord {
	tb.Helper()
	var out []rawRecord
	for i := from; i < from+n; i++ {
		payload, err := avro.Marshal(sc, vital(i, v))
		if err != nil {
			tb.Fatalf("encode record %d: %v", i, err)
		}
		out = append(out, rawRecord{id: i, value: confluent(id, payload)})
	}
	return out
}

func writeAvroConfig(tb testing.TB, brokers, registry, group, topic, table string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "floe.yaml")
	yaml := fmt.Sprintf(`ingest:
  kafka:
    brokers: [%q]
    group: %s
    schema_registry:
      url: %s
    streams:
      - topic: %s
        table: %s
        format: avro
        commit_interval: 500ms
`, brokers, group, registry, topic, table)
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// TestKafkaAvro streams Avro records of two schema versions, with poison
// among them, and checks that the table holds each good record exactly once
// with its values, that the second version evolved the table (a new column,
// two widened ones), that the registry refused an incompatible schema, and
// that the poison landed in __rejected with its reason.
func TestKafkaAvro(t *testing.T) {
	registry := MustSchemaRegistry(t)
	brokers := MustKafka(t)
	cl := MustKafkaClient(t, brokers)
	const topic, table = "e2e-avro", "e2e_avro.vitals"
	MustCreateTopic(t, cl, topic, 3)

	subject := topic + "-value"
	v1 := MustRegisterSchema(t, registry, subject, vitalV1)
	if _, status, body := RegisterSchema(t, registry, subject, vitalBad); status == http.StatusOK || status/100 != 4 {
		t.Fatalf("the registry accepted an incompatible schema (HTTP %d %s): its BACKWARD rule is not set", status, body)
	}
	sc1 := avro.MustParse(vitalV1)

	l := newKafkaLog()
	recs := avroRecords(t, sc1, v1, 1, 0, 600)
	truncated := recs[7].value[:len(recs[7].value)/2]
	recs = append(recs,
		rawRecord{id: -1, value: []byte(`{"id": 1}`), poison: true},                  // JSON, not the wire format
		rawRecord{id: -2, value: confluent(987654, recs[1].value[5:]), poison: true}, // an id the registry does not know
		rawRecord{id: -3, value: truncated, poison: true},                            // cut short
	)
	produceRaw(t, cl, l, topic, recs)

	cfg := writeAvroConfig(t, brokers, registry, "e2e-avro", topic, table)
	MustBuildFloe(t)
	f := MustStartFloe(t, WithConfigFile(cfg))
	waitCounts(t, f, table, 600, 3, 60*time.Second)

	// Version 2, registered under BACKWARD, evolves the table.
	v2 := MustRegisterSchema(t, registry, subject, vitalV2)
	produceRaw(t, cl, l, topic, avroRecords(t, avro.MustParse(vitalV2), v2, 2, 600, 400))
	waitCounts(t, f, table, 1000, 3, 60*time.Second)
	time.Sleep(time.Second) // anything extra would be committed by now
	checkExactlyOnce(t, f, table, l)

	types := f.MustQuery(t, `SELECT typeof(hr), typeof(temp), typeof(spo2), typeof("at"), typeof("day"), typeof(amount),
		typeof(uid), typeof(tags), typeof(attrs), typeof(device), typeof(kind) FROM `+table+` LIMIT 1`)
	want := []string{"BIGINT", "DOUBLE", "INTEGER", "TIMESTAMP WITH TIME ZONE", "DATE", "DECIMAL(9,2)",
		"UUID", "VARCHAR[]", "MAP(VARCHAR, BIGINT)", "STRUCT(model VARCHAR, fw INTEGER)", "VARCHAR"}
	if got := fmt.Sprint(types.Rows[0]); got != fmt.Sprint(want) {
		t.Errorf("column types = %s, want %v", got, want)
	}
	for _, c := range []struct{ sql, want string }{
		{`SELECT hr, temp, spo2, CAST("day" AS VARCHAR), amount, uid, tags[2], attrs['n'], device.model, device.fw, kind, note FROM ` + table + ` WHERE id = 10`,
			"[60 36.5 <nil> 2026-01-11 10.25 00000000-0000-4000-8000-000000000010 t1 20 M2 7 ALERT note 10]"},
		{`SELECT hr, temp, spo2, epoch_ms("at"), note, device.fw FROM ` + table + ` WHERE id = 601`,
			"[51 36.75 91 1780000000601 <nil> <nil>]"},
		{`SELECT count(*) FROM ` + table + ` WHERE spo2 IS NULL`, "[600]"},
	} {
		res := f.MustQuery(t, c.sql)
		if got := fmt.Sprint(res.Rows[0]); got != c.want {
			t.Errorf("%s\n = %s, want %s", c.sql, got, c.want)
		}
	}

	reasons := f.MustQuery(t, `SELECT reason FROM `+table+`__rejected ORDER BY "offset"`)
	var rs []string
	for _, r := range reasons.Rows {
		rs = append(rs, fmt.Sprint(r[0]))
	}
	joined := strings.Join(rs, " | ")
	for _, w := range []string{"magic byte is 0x7b, not 0", "schema id 987654 is not in the schema registry", "truncated Avro value"} {
		if !strings.Contains(joined, w) {
			t.Errorf("dead-letter reasons %q lack %q", joined, w)
		}
	}
}

// TestKafkaAvroRegistryDown starts floe while its schema registry cannot be
// reached (a proxy in front of the real one refuses): the records wait,
// nothing is committed or dead-lettered; once the registry answers they
// land exactly once.
func TestKafkaAvroRegistryDown(t *testing.T) {
	registry := MustSchemaRegistry(t)
	brokers := MustKafka(t)
	cl := MustKafkaClient(t, brokers)
	const topic, table = "e2e-avro-down", "e2e_avro.down"
	MustCreateTopic(t, cl, topic, 2)

	target, err := url.Parse(registry)
	if err != nil {
		t.Fatal(err)
	}
	var up atomic.Bool
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "registry unavailable", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	proxied := "http://" + ln.Addr().String() + target.Path

	subject := topic + "-value"
	id := MustRegisterSchema(t, registry, subject, vitalV1)
	l := newKafkaLog()
	produceRaw(t, cl, l, topic, avroRecords(t, avro.MustParse(vitalV1), id, 1, 0, 200))

	f := MustStartFloe(t, WithConfigFile(writeAvroConfig(t, brokers, proxied, "e2e-avro-down", topic, table)))
	time.Sleep(5 * time.Second)
	if n, d := count(t, f, table), count(t, f, table+"__rejected"); n != -1 || d != -1 {
		t.Fatalf("with the registry down the table holds %d rows and __rejected %d (want neither to exist)", n, d)
	}
	if !strings.Contains(f.Log(), "schema registry unreachable") {
		t.Errorf("floe logged nothing about the unreachable registry")
	}
	up.Store(true)
	produceRaw(t, cl, l, topic, avroRecords(t, avro.MustParse(vitalV1), id, 1, 200, 100))
	waitCounts(t, f, table, 300, 0, 60*time.Second)
	time.Sleep(time.Second)
	checkExactlyOnce(t, f, table, l)
	if n := count(t, f, table+"__rejected"); n != -1 {
		t.Errorf("__rejected holds %d rows; nothing should have been rejected", n)
	}
}
