package maintain

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/floe-dev/floe/catalog"
)

// Handler serves POST /v1/maintenance/{namespace}/{table}[?dry_run=true]:
// it runs what is due on the table now and answers the report as JSON
// ({"table", "result", "report", "error"}). Authentication and floe:Maintain
// are the caller's (cmd/floe wraps it like pushes); principal names who
// asked, for the audit record. Errors: 404 for an unknown table, 409 while
// another process maintains it, 400 for a bad dry_run, 405 for other
// methods; JSON {"error": {"code", "message"}}.
func (m *Maintainer) Handler(principal func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "use POST")
			return
		}
		ns, name := r.PathValue("namespace"), r.PathValue("table")
		dry := false
		if v := r.URL.Query().Get("dry_run"); v != "" {
			var err error
			if dry, err = strconv.ParseBool(v); err != nil {
				writeError(w, http.StatusBadRequest, "bad_request", "dry_run must be true or false")
				return
			}
		}
		rep, err := m.RunTable(r.Context(), ns, name, Options{DryRun: dry, Principal: principal(r), Protocol: "http"})
		switch {
		case errors.Is(err, catalog.ErrNoSuchTable):
			writeError(w, http.StatusNotFound, "not_found", "table "+ns+"."+name+" does not exist")
			return
		case errors.Is(err, ErrLocked):
			writeError(w, http.StatusConflict, "locked", err.Error())
			return
		}
		body := struct {
			Table  string  `json:"table"`
			Result string  `json:"result"`
			Report Report  `json:"report"`
			Error  *string `json:"error,omitempty"`
		}{Table: rep.Table, Result: rep.Summary(), Report: rep}
		status := http.StatusOK
		if err != nil {
			// The error names files of the warehouse: the log has it.
			m.cfg.Logger.Error("maintenance: triggered run failed", "table", rep.Table, "principal", rep.Principal, "err", err)
			msg := "maintenance failed; the server log has the details"
			body.Error, status = &msg, http.StatusInternalServerError
			body.Result = msg
		}
		writeJSON(w, status, body)
	})
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var b errorBody
	b.Error.Code, b.Error.Message = code, msg
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
