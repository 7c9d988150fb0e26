package gateway

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/floe-dev/floe/pgwire"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/floe-dev/floe/authz"
	"github.com/floe-dev/floe/sqlstate"
)

// maxQueryBody bounds the JSON body of POST /v1/query.
const maxQueryBody = 1 << 20

// QueryHandler serves POST /v1/query: {"sql": "..."} in, {"columns": [...],
// "rows": [[...]]} out, under the same rules as pgwire. It expects
// authz.Directory.BasicAuth in front of it. Rows are streamed to the client
// as they are produced.
func (e *Engine) QueryHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeHTTPError(w, http.StatusMethodNotAllowed, "405", "use POST")
			return
		}
		var req struct {
			SQL    string `json:"sql"`
			Params []any  `json:"params"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxQueryBody))
		if err := dec.Decode(&req); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeHTTPError(w, http.StatusRequestEntityTooLarge, "54000", "request body too large")
				return
			}
			writeHTTPError(w, http.StatusBadRequest, "22P02", "invalid JSON body: expected {\"sql\": \"...\"}")
			return
		}
		stmts := splitStatements(req.SQL)
		if len(stmts) != 1 {
			writeHTTPError(w, http.StatusBadRequest, sqlstate.SyntaxError, "send exactly one statement")
			return
		}
		user := authz.Principal(r.Context())
		sess, err := e.NewSession(r.Context(), pgwire.StartupInfo{User: user, Database: DatabaseName,
			RemoteAddr: httpRemoteAddr(r), TLS: r.TLS != nil})
		if err != nil {
			e.writeSQLError(w, err)
			return
		}
		defer sess.Close()
		sess.protocol = "http"
		cols, res, err := sess.Query(r.Context(), stmts[0], req.Params...)
		if err != nil {
			e.writeSQLError(w, err)
			return
		}
		defer res.Close()
		// Fetch the first row before committing to a 200, so that an error
		// at the start of execution still gets a proper status.
		first, err := res.Next(r.Context())
		if err != nil && !errors.Is(err, io.EOF) {
			e.writeSQLError(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		bw := bufio.NewWriterSize(w, 64<<10)
		type column struct {
			Name string `json:"name"`
			Type string `json:"type"`
		}
		out := make([]column, len(cols))
		for i, c := range cols {
			out[i] = column{Name: c.Name, Type: typeName(int64(c.OID))}
		}
		hdr, _ := json.Marshal(out)
		fmt.Fprintf(bw, `{"columns":%s,"rows":[`, hdr)
		n := 0
		row := first
		for err == nil {
			if n > 0 {
				bw.WriteByte(',')
			}
			vals := make([]any, len(row))
			for i, v := range row {
				vals[i] = jsonValue(v)
			}
			b, merr := json.Marshal(vals)
			if merr != nil {
				b = []byte("null")
			}
			bw.Write(b)
			n++
			row, err = res.Next(r.Context())
		}
		if !errors.Is(err, io.EOF) {
			// Too late for a status: end the document with the error.
			pe := sqlstate.Public(err)
			if sqlstate.As(err) == nil {
				e.log.Error("query failed", "user", user, "err", err)
			}
			eb, _ := json.Marshal(map[string]string{"code": pe.Code, "message": pe.Message})
			fmt.Fprintf(bw, `],"error":%s}`, eb)
		} else {
			fmt.Fprintf(bw, `],"row_count":%d}`, n)
		}
		bw.Flush()
	})
}

// jsonValue renders a wire value for JSON: numbers stay numbers (NaN and
// infinities as strings), times RFC 3339, bytes hex, uuids canonical.
func jsonValue(v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Sprint(x)
		}
	case float32:
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Sprint(x)
		}
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case time.Duration:
		t := time.Time{}.Add(x)
		return t.Format("15:04:05.999999")
	case []byte:
		return "\\x" + hex.EncodeToString(x)
	case [16]byte:
		h := hex.EncodeToString(x[:])
		return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	case pgtype.Interval:
		return fmt.Sprintf("%d mons %d days %d us", x.Months, x.Days, x.Microseconds)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	case string:
		return x
	}
	return v
}

// httpStatus maps a SQLSTATE to an HTTP status.
func httpStatus(code string) int {
	switch {
	case code == sqlstate.InsufficientPrivilege:
		return http.StatusForbidden
	case strings.HasPrefix(code, "28"):
		return http.StatusUnauthorized
	case code == sqlstate.QueryCanceled:
		return http.StatusRequestTimeout
	case code == sqlstate.UndefinedTable:
		return http.StatusNotFound
	case strings.HasPrefix(code, "XX"), strings.HasPrefix(code, "58"), strings.HasPrefix(code, "53"):
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

func (e *Engine) writeSQLError(w http.ResponseWriter, err error) {
	pe := sqlstate.Public(err)
	if sqlstate.As(err) == nil || pe.Code == sqlstate.InternalError {
		e.log.Error("query failed", "err", err)
	}
	writeHTTPError(w, httpStatus(pe.Code), pe.Code, pe.Message)
}

func writeHTTPError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// httpRemoteAddr is the client's address as a net.Addr.
func httpRemoteAddr(r *http.Request) net.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return nil
	}
	return net.TCPAddrFromAddrPort(ap)
}
