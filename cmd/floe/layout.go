package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/floe-dev/floe/ingest"
)

// minTargetFileSize keeps a typo ("128" meaning 128MB) from writing a
// file per few rows.
const minTargetFileSize = 64 << 10

// validateLayout checks a stream's partition_by, target_file_size and
// schema_evolution, and fills targetFileSize; errors name the field under
// prefix (config: ingest.kafka.streams[i]).
func (s *kafkaStream) validateLayout(prefix string) error {
	if _, err := ingest.ParsePartitionBy(s.PartitionBy); err != nil {
		return fmt.Errorf("%s.partition_by%w", prefix, err)
	}
	if s.TargetFileSize != "" {
		n, err := parseByteSize(s.TargetFileSize)
		if err == nil && n < minTargetFileSize {
			err = fmt.Errorf("must be at least 64KiB")
		}
		if err != nil {
			return fmt.Errorf("%s.target_file_size: %q: %w", prefix, s.TargetFileSize, err)
		}
		s.targetFileSize = n
	}
	return nil
}

// byteUnits are the size suffixes: SI units are powers of 1000, IEC units
// powers of 1024 (as DuckDB reads memory_limit).
var byteUnits = map[string]int64{
	"":    1,
	"b":   1,
	"kb":  1000,
	"mb":  1000 * 1000,
	"gb":  1000 * 1000 * 1000,
	"tb":  1000 * 1000 * 1000 * 1000,
	"kib": 1 << 10,
	"mib": 1 << 20,
	"gib": 1 << 30,
	"tib": 1 << 40,
}

// parseByteSize parses a size such as 128MB, 1GiB, 512 KiB or 1048576
// (bytes). The number may have a fraction (1.5GB).
func parseByteSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "-") {
		return 0, errors.New("must not be negative")
	}
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := byteUnits[unit]
	if !ok {
		return 0, fmt.Errorf("unknown unit %q (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)", t[i:])
	}
	if num == "" {
		return 0, errors.New("not a size such as 128MB or 1GiB")
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, errors.New("not a size such as 128MB or 1GiB")
	}
	v := f * float64(mult)
	if v >= math.MaxInt64 {
		return 0, errors.New("too large")
	}
	return int64(v), nil
}
