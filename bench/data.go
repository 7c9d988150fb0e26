package main

import (
	"strconv"
	"time"
)

// The bench.events table. Every column of a row is a pure function of the
// row's id, so the NDJSON pushed to floe and the rows copied into
// PostgreSQL are the same data.
const (
	numSites  = 50
	noteCard  = 250_000 // distinct notes
	noteBytes = 20
)

var (
	baseTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	sites    = func() []string {
		s := make([]string, numSites)
		for i := range s {
			s[i] = "site-" + strconv.Itoa(100 + i)[1:]
		}
		return s
	}()
)

// row is one generated bench.events row.
type row struct {
	id    int64
	site  string
	value float64
	at    time.Time
	flag  bool
	note  uint64 // note key; appendNote spells it
}

// mix is splitmix64's finalizer: a cheap, well-spread hash of x.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func genRow(id int64) row {
	h := mix(uint64(id))
	return row{
		id:    id,
		site:  sites[h%numSites],
		value: float64((h>>8)%1_000_000) / 1000, // 0.000 … 999.999, exact in 3 decimals
		at:    baseTime.Add(time.Duration(id) * time.Second),
		flag:  (h>>40)&1 == 1,
		note:  (h >> 20) % noteCard,
	}
}

// appendNote appends the 20-character note for key k: "note NNNNNN xxxxxxxx".
func appendNote(buf []byte, k uint64) []byte {
	buf = append(buf, "note "...)
	buf = appendPadded(buf, k, 6)
	buf = append(buf, ' ')
	h := mix(k ^ 0x5bd1e995)
	for range 8 {
		buf = append(buf, byte('a'+h%26))
		h /= 26
	}
	return buf
}

func appendPadded(buf []byte, n uint64, width int) []byte {
	var d [20]byte
	i := len(d)
	for n > 0 || i == len(d) {
		i--
		d[i] = byte('0' + n%10)
		n /= 10
	}
	for w := len(d) - i; w < width; w++ {
		buf = append(buf, '0')
	}
	return append(buf, d[i:]...)
}

// appendNDJSON appends rows [from, to) as NDJSON lines.
func appendNDJSON(buf []byte, from, to int64) []byte {
	for id := from; id < to; id++ {
		r := genRow(id)
		buf = append(buf, `{"id":`...)
		buf = strconv.AppendInt(buf, r.id, 10)
		buf = append(buf, `,"site":"`...)
		buf = append(buf, r.site...)
		buf = append(buf, `","value":`...)
		buf = strconv.AppendFloat(buf, r.value, 'f', 3, 64)
		buf = append(buf, `,"at":"`...)
		buf = r.at.AppendFormat(buf, time.RFC3339)
		buf = append(buf, `","flag":`...)
		buf = strconv.AppendBool(buf, r.flag)
		buf = append(buf, `,"note":"`...)
		buf = appendNote(buf, r.note)
		buf = append(buf, "\"}\n"...)
	}
	return buf
}
