package main

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/floe-dev/floe/authz"
	"github.com/floe-dev/floe/ingest"
	"github.com/floe-dev/floe/maintain"
)

// statusTable is the SQL name of the ingest status (gateway.Config.Virtual),
// and the resource whose floe:Select also grants GET /metrics.
const statusNS, statusTable = "floe", "ingest_status"

// maintenanceTable is floe.maintenance_status: what maintenance sees in and
// did to each table, under floe:Select like floe.ingest_status.
const maintenanceTable = "maintenance_status"

// observer is one process's observability: the Prometheus registry every
// part registers with (no global registry), and the sources of
// floe.ingest_status, published once they start.
type observer struct {
	reg   *prometheus.Registry
	kafka atomic.Pointer[ingest.Kafka]
	http  atomic.Pointer[ingest.Service]
	maint atomic.Pointer[maintain.Maintainer]
}

func newObserver() *observer {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &observer{reg: reg}
}

// virtual is the gateway's virtual tables floe.ingest_status and
// floe.maintenance_status.
func (o *observer) virtual() map[string]func() ([]string, []string, [][]any) {
	return map[string]func() ([]string, []string, [][]any){
		statusNS + "." + statusTable: func() ([]string, []string, [][]any) {
			var sts []ingest.StreamStatus
			if k := o.kafka.Load(); k != nil {
				sts = append(sts, k.Status()...)
			}
			if s := o.http.Load(); s != nil {
				sts = append(sts, s.Status()...)
			}
			return ingest.StatusColumns, ingest.StatusTypes, ingest.StatusRows(sts)
		},
		statusNS + "." + maintenanceTable: func() ([]string, []string, [][]any) {
			var rows [][]any
			if m := o.maint.Load(); m != nil {
				rows = m.StatusRows()
			}
			return maintain.StatusColumns, maintain.StatusTypes, rows
		},
	}
}

// metricsHandler serves the registry to principals (authenticated before
// it) that may read floe.ingest_status: the metrics name the same tables.
func (o *observer) metricsHandler(policy func() *authz.Policy) http.Handler {
	metrics := promhttp.HandlerFor(o.reg, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := authz.Request{Principal: authz.Principal(r.Context()), Action: authz.ActionSelect,
			Resource: authz.Resource{Namespace: statusNS, Table: statusTable}, SecureTransport: r.TLS != nil}
		if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
			req.SourceIP = ap.Addr().Unmap()
		}
		if !policy().Decide(req).Allowed {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{
				"code": "42501", "message": "permission denied for table " + statusNS + "." + statusTable}})
			return
		}
		metrics.ServeHTTP(w, r)
	})
}

// virtualTables is virtual for a non-nil observer.
func (o *observer) virtualTables() map[string]func() ([]string, []string, [][]any) {
	if o == nil {
		return nil
	}
	return o.virtual()
}
