package pgwire

import (
	"bytes"
	"context"
	"io"

	"github.com/jackc/pgx/v5/pgproto3"
)

// Test hooks for package pgwire_test.

// DecodeParam decodes one parameter as Bind does.
func DecodeParam(oid uint32, format int16, src []byte) (any, error) {
	var c codec
	return c.decodeParam(1, oid, format, src)
}

// EncodeValue encodes one result value as a DataRow field body (without the
// length); nil result means NULL.
func EncodeValue(oid uint32, format int16, v any) ([]byte, error) {
	var c codec
	b, err := c.appendField(nil, oid, format, v)
	if err != nil {
		return nil, err
	}
	if len(b) == 4 && b[0] == 0xff {
		return nil, nil
	}
	return b[4:], nil
}

// RowWriter drives the connection's DataRow encoder and output buffer.
type RowWriter struct{ c *conn }

func NewRowWriter(w io.Writer) *RowWriter {
	c := &conn{}
	c.w = writer{w: w, flushAt: defaultFlushBytes}
	return &RowWriter{c: c}
}

func (r *RowWriter) WriteRow(row []any, cols []Column, formats []int16) error {
	return r.c.writeRow(row, cols, formats)
}

func (r *RowWriter) Flush() error { return r.c.w.flush() }

// ParseSCRAMClientFirst and ParseSCRAMClientFinal expose the SCRAM parsers
// to the fuzzers.
func ParseSCRAMClientFirst(msg string) error {
	_, err := parseSCRAMClientFirst(msg)
	return err
}

func ParseSCRAMClientFinal(msg string) error {
	_, err := parseSCRAMClientFinal(msg)
	return err
}

// CopyData runs rows through COPY TO STDOUT's encoder in format f and
// returns the concatenated CopyData payloads (what a client writes out).
func CopyData(rows [][]any, cols []Column, f CopyFormat) ([]byte, error) {
	var out bytes.Buffer
	c := &conn{}
	c.w = writer{w: &out, flushAt: defaultFlushBytes}
	if _, err := c.sendCopyOut(context.Background(), &sliceResult{rows: rows}, cols, f); err != nil {
		return nil, err
	}
	if err := c.w.flush(); err != nil {
		return nil, err
	}
	fe := pgproto3.NewFrontend(&out, io.Discard)
	var data []byte
	for {
		m, err := fe.Receive()
		if err != nil {
			return nil, err
		}
		switch m := m.(type) {
		case *pgproto3.CopyData:
			data = append(data, m.Data...)
		case *pgproto3.CopyDone:
			return data, nil
		}
	}
}

type sliceResult struct{ rows [][]any }

func (r *sliceResult) Next(context.Context) ([]any, error) {
	if len(r.rows) == 0 {
		return nil, io.EOF
	}
	row := r.rows[0]
	r.rows = r.rows[1:]
	return row, nil
}
func (r *sliceResult) Tag(n int64) string { return "COPY" }
func (r *sliceResult) Close() error       { return nil }
