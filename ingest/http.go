package ingest

import (
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/floe-dev/floe/sqlstate"
)

// Error codes of HTTP answers that sqlstate does not name.
const (
	codeInvalidName     = "42602" // invalid_name
	codeUnsupportedType = "unsupported_media_type"
	codeMethod          = "method_not_allowed"
	codeNotFound        = "not_found"
)

// Handler serves POST /v1/ingest/{namespace}/{table}. Authentication happens
// before it; principal returns the authenticated principal of a request (for
// logs now, for authorization later).
func (s *Service) Handler(principal func(*http.Request) string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/ingest/{namespace}/{table}", func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		s.serveIngest(sw, r, principal)
		s.requests.WithLabelValues(strconv.Itoa(sw.code)).Inc()
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, codeNotFound, "no such endpoint")
	})
	return mux
}

func (s *Service) serveIngest(w http.ResponseWriter, r *http.Request, principal func(*http.Request) string) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, codeMethod, "use POST")
		return
	}
	ns, tbl := r.PathValue("namespace"), r.PathValue("table")
	who := ""
	if principal != nil {
		who = principal(r)
	}
	log := s.log.With("principal", who, "table", ns+"."+tbl)

	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/x-ndjson" && mt != "application/json") {
			writeError(w, http.StatusUnsupportedMediaType, codeUnsupportedType,
				"Content-Type must be application/x-ndjson or application/json")
			return
		}
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		writeError(w, http.StatusUnsupportedMediaType, codeUnsupportedType, "Content-Encoding is not supported")
		return
	}
	if r.ContentLength > s.cfg.MaxBodyBytes {
		writeTooLarge(w, s.cfg.MaxBodyBytes)
		return
	}
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)

	res, err := s.Push(r.Context(), ns, tbl, body)
	if err != nil {
		s.writePushError(w, r, log, err)
		return
	}
	log.Debug("ingest: pushed", "rows", res.Rows, "snapshot_id", res.SnapshotID)
	writeJSON(w, http.StatusOK, res)
}

func (s *Service) writePushError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var rerr *RecordError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &rerr):
		code := sqlstate.DatatypeMismatch
		if rerr.Field == "" {
			code = sqlstate.InvalidTextRepresentation
		}
		log.Debug("ingest: rejected", "err", err)
		writeError(w, http.StatusBadRequest, code, rerr.Error())
	case errors.Is(err, ErrInvalidName):
		writeError(w, http.StatusBadRequest, codeInvalidName, err.Error())
	case errors.Is(err, ErrEmptyBody):
		writeError(w, http.StatusBadRequest, sqlstate.InvalidParameterValue, err.Error())
	case errors.As(err, &tooBig):
		writeTooLarge(w, tooBig.Limit)
	case errors.Is(err, ErrTooLarge):
		writeTooLarge(w, s.cfg.MaxBodyBytes)
	case errors.Is(err, ErrClosed):
		writeError(w, http.StatusServiceUnavailable, sqlstate.AdminShutdown, err.Error())
	case r.Context().Err() != nil:
		// The client went away; the outcome of the commit is unknown to it.
		log.Info("ingest: request canceled", "err", err)
		writeError(w, http.StatusServiceUnavailable, sqlstate.QueryCanceled, "request canceled")
	default:
		log.Error("ingest: push failed", "err", err)
		writeError(w, http.StatusInternalServerError, sqlstate.InternalError, "internal error")
	}
}

func writeTooLarge(w http.ResponseWriter, limit int64) {
	w.Header().Set("Connection", "close")
	writeError(w, http.StatusRequestEntityTooLarge, sqlstate.ProgramLimitExceeded,
		"request body exceeds "+formatBytes(limit))
}

// statusWriter remembers the status code of an answer, for the metrics.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func formatBytes(n int64) string { return strconv.FormatInt(n, 10) + " bytes" }

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, errorBody{Error: errorDetail{Code: code, Message: msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
