package pgwire

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"

	"github.com/jackc/pgx/v5/pgproto3"
)

// sendCopyOut sends every row of res as COPY data in format f: a
// CopyOutResponse, one CopyData message per line, CopyDone. The caller
// sends CommandComplete. It returns the rows sent.
func (c *conn) sendCopyOut(ctx context.Context, res Result, cols []Column, f CopyFormat) (int64, error) {
	c.w.send(&pgproto3.CopyOutResponse{OverallFormat: 0, ColumnFormatCodes: make([]uint16, len(cols))})
	var line, field []byte
	if f.Header {
		line = line[:0]
		for i, col := range cols {
			if i > 0 {
				line = append(line, f.Delimiter)
			}
			line = appendCopyField(line, []byte(col.Name), f, len(cols) == 1)
		}
		c.writeCopyData(append(line, '\n'))
	}
	var n int64
	for {
		if n&1023 == 1023 && ctx.Err() != nil {
			return n, ctx.Err()
		}
		row, err := res.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, err
		}
		if len(row) != len(cols) {
			return n, errors.New("row has a different number of values than the statement has columns")
		}
		line = line[:0]
		for i, v := range row {
			if i > 0 {
				line = append(line, f.Delimiter)
			}
			isNull := v == nil
			if !isNull {
				field, err = c.codec.appendText(field[:0], cols[i].OID, v)
				if errors.Is(err, errNullValue) {
					isNull, err = true, nil
				}
				if err != nil {
					return n, &encodeError{col: i, oid: cols[i].OID, err: err}
				}
			}
			if isNull {
				line = append(line, f.Null...)
				continue
			}
			line = appendCopyField(line, field, f, len(cols) == 1)
		}
		if err := c.writeCopyData(append(line, '\n')); err != nil {
			return n, err
		}
		n++
	}
	c.w.send(&pgproto3.CopyDone{})
	return n, nil
}

// writeCopyData appends one CopyData message, flushing when the buffer is
// full.
func (c *conn) writeCopyData(line []byte) error {
	if len(line) > math.MaxInt32-4 {
		return errors.New("row too large for one message")
	}
	buf := append(c.w.buf, 'd', 0, 0, 0, 0)
	binary.BigEndian.PutUint32(buf[len(buf)-4:], uint32(len(line)+4))
	c.w.buf = append(buf, line...)
	return c.w.maybeFlush()
}

// appendCopyField appends one non-NULL value in its COPY form; single says
// the row has only this column.
func appendCopyField(buf, v []byte, f CopyFormat, single bool) []byte {
	if f.CSV {
		return appendCSVField(buf, v, f, single)
	}
	return appendTextField(buf, v, f.Delimiter)
}

// appendTextField escapes like PostgreSQL's text COPY: backslash, the
// delimiter and the control characters with a short escape.
func appendTextField(buf, v []byte, delim byte) []byte {
	for _, b := range v {
		switch b {
		case '\\':
			buf = append(buf, '\\', '\\')
		case '\b':
			buf = append(buf, '\\', 'b')
		case '\f':
			buf = append(buf, '\\', 'f')
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		case '\v':
			buf = append(buf, '\\', 'v')
		default:
			if b == delim {
				buf = append(buf, '\\')
			}
			buf = append(buf, b)
		}
	}
	return buf
}

// appendCSVField quotes like PostgreSQL's CSV COPY: a value holding the
// delimiter, a quote, a line break, or equal to the NULL string (so that
// it reads back as a value, not NULL) is quoted, quotes doubled; so is
// \. as the only column of a row (old clients' end-of-data marker).
func appendCSVField(buf, v []byte, f CopyFormat, single bool) []byte {
	quote := string(v) == f.Null || (single && string(v) == `\.`) ||
		bytes.IndexByte(v, f.Delimiter) >= 0 || bytes.ContainsAny(v, "\"\r\n")
	if !quote {
		return append(buf, v...)
	}
	buf = append(buf, '"')
	for _, b := range v {
		if b == '"' {
			buf = append(buf, '"')
		}
		buf = append(buf, b)
	}
	return append(buf, '"')
}
