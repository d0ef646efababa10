// Package metrics is the console's Prometheus instrumentation: HTTP requests
// by route, upstream calls by operation, status and error code, change
// outcomes and reconciler settlements, and, read from Postgres at scrape
// time, the pending audit entries and the inventory's freshness. A Metrics
// owns its registry (no package globals), so every console and every test
// has its own. It is served on its own listener (METRICS_ADDR), never on the
// public one.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// namespace prefixes every metric of the console's own.
const namespace = "vpcep_console"

// durationBuckets (seconds) reach past a minute: a policy change may take
// two upstream calls' timeouts.
var durationBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}

// Metrics holds the console's metrics and the registry they are served from.
type Metrics struct {
	registry         *prometheus.Registry
	httpRequests     *prometheus.HistogramVec
	upstreamRequests *prometheus.CounterVec
	upstreamDuration *prometheus.HistogramVec
	upstreamRetries  *prometheus.CounterVec
	changes          *prometheus.CounterVec
	settlements      *prometheus.CounterVec
}

var (
	_ vpcep.Observer  = (*Metrics)(nil)
	_ change.Observer = (*Metrics)(nil)
)

// New returns a Metrics on a registry of its own, with the Go runtime's and
// the process's metrics.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		httpRequests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route template (never the raw URL), method and status class.",
			Buckets: durationBuckets,
		}, []string{"route", "method", "status"}),
		upstreamRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "upstream_requests_total",
			Help: `Requests to the VPCEP API, each retry counted, by operation, HTTP status ("none" when no answer arrived) and error code (the API's, or timeout, canceled, transport when no answer arrived).`,
		}, []string{"operation", "status", "code"}),
		upstreamDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "upstream_request_duration_seconds",
			Help:    "Time of one request to the VPCEP API, by operation.",
			Buckets: durationBuckets,
		}, []string{"operation"}),
		upstreamRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "upstream_retries_total",
			Help: "Requests to the VPCEP API that retried a failed read, by operation.",
		}, []string{"operation"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "changes_total",
			Help: "Policy changes and rollbacks that reached the audit log, by outcome.",
		}, []string{"outcome"}),
		settlements: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "reconciler_settlements_total",
			Help: "Pending audit entries the reconciler settled, by the outcome recorded.",
		}, []string{"outcome"}),
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpRequests, m.upstreamRequests, m.upstreamDuration, m.upstreamRetries, m.changes, m.settlements,
	)
	// Every outcome shows from the start, at 0, so a rate or an alert on
	// one needs no first occurrence.
	for _, o := range change.Outcomes {
		m.changes.WithLabelValues(string(o))
	}
	for _, o := range []string{audit.OutcomeSucceeded, audit.OutcomeFailed, audit.OutcomeUnknown} {
		m.settlements.WithLabelValues(o)
	}
	return m
}

// Handler serves the metrics in Prometheus's text format at /metrics, and
// answers 404 to anything else. A metric that cannot be read (the database
// is down) is left out and logged; the others are still served.
func (m *Metrics) Handler(logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.registry, // promhttp's own error counters
		Timeout:       scrapeTimeout,
	}))
	return mux
}

// ObserveRequest records one answered HTTP request. route is the route's
// template ("/endpoints/:id"), never the URL: ids and queries must not make
// new series. Requests no route matched ("") share the route "unmatched".
func (m *Metrics) ObserveRequest(route, method string, status int, elapsed time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.httpRequests.WithLabelValues(route, normalMethod(method), statusClass(status)).Observe(elapsed.Seconds())
}

// UpstreamAttempt records one attempt of an upstream call (vpcep.Observer).
func (m *Metrics) UpstreamAttempt(a vpcep.Attempt) {
	status, code := "none", a.Failure
	if a.Status != 0 {
		status, code = strconv.Itoa(a.Status), errorCode(a.Code)
	}
	m.upstreamRequests.WithLabelValues(a.Operation, status, code).Inc()
	m.upstreamDuration.WithLabelValues(a.Operation).Observe(a.Duration.Seconds())
	if a.Number > 1 {
		m.upstreamRetries.WithLabelValues(a.Operation).Inc()
	}
}

// ChangeFinished records a change's outcome (change.Observer).
func (m *Metrics) ChangeFinished(o change.Outcome) { m.changes.WithLabelValues(string(o)).Inc() }

// EntrySettled records an entry the reconciler settled (change.Observer).
func (m *Metrics) EntrySettled(outcome string) { m.settlements.WithLabelValues(outcome).Inc() }

// statusClass is 2xx, 3xx, 4xx or 5xx.
func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status/100) + "xx"
}

// normalMethod keeps the label to the methods HTTP defines: any other word
// a client sends is "other", so it cannot make new series.
func normalMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

// codePattern is the shape of the API's error codes (EndPoint.0005,
// APIGW.0301).
var codePattern = regexp.MustCompile(`^[A-Za-z]{1,16}\.[0-9]{1,6}$`)

// errorCode keeps an error code as a label only when it has the API's
// shape: whatever else an upstream (or a proxy before it) puts there is
// "other", so it cannot make unbounded series.
func errorCode(code string) string {
	if code == "" || codePattern.MatchString(code) {
		return code
	}
	return "other"
}

// scrapeTimeout bounds the queries a scrape makes.
const scrapeTimeout = 5 * time.Second

// WatchState adds the metrics read from Postgres at each scrape: the count
// of pending audit entries (from log) and the inventory's freshness (from
// st's RefreshState). Every replica reports the same values: they share the
// database.
func (m *Metrics) WatchState(log *audit.Log, projects ...ProjectInventory) {
	m.registry.MustRegister(&stateCollector{log: log, projects: projects})
}

// ProjectInventory is one project's inventory, reported under its name
// (the project label).
type ProjectInventory struct {
	Project string
	Store   *store.Store
}

var (
	pendingDesc = prometheus.NewDesc(namespace+"_audit_pending_entries",
		"Audit entries still pending: changes in flight, or left unsettled by a crash or a lost answer until the reconciler settles them.", nil, nil)
	inventoryAgeDesc = prometheus.NewDesc(namespace+"_inventory_age_seconds",
		"Seconds since the last successful inventory refresh of the project; absent before the first.", []string{"project"}, nil)
	inventoryFailedDesc = prometheus.NewDesc(namespace+"_inventory_last_refresh_failed",
		"1 when the project's newest inventory refresh attempt failed, 0 when it succeeded; absent before the first.", []string{"project"}, nil)
	inventorySizeDesc = prometheus.NewDesc(namespace+"_inventory_endpoints",
		"Endpoints in the project's inventory as of its last successful refresh.", []string{"project"}, nil)
)

// stateCollector reads the state at scrape time, with cheap queries.
type stateCollector struct {
	log      *audit.Log
	projects []ProjectInventory
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pendingDesc
	ch <- inventoryAgeDesc
	ch <- inventoryFailedDesc
	ch <- inventorySizeDesc
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()

	pending, err := c.log.CountPending(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(pendingDesc, err)
	} else {
		ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(pending))
	}

	for _, p := range c.projects {
		st, err := p.Store.RefreshState(ctx)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(inventoryAgeDesc, err)
			continue // the other projects' figures are still worth having
		}
		if st.Last != nil {
			failed := 0.0
			if !st.Last.Succeeded {
				failed = 1
			}
			ch <- prometheus.MustNewConstMetric(inventoryFailedDesc, prometheus.GaugeValue, failed, p.Project)
		}
		if !st.LastSuccessAt.IsZero() {
			ch <- prometheus.MustNewConstMetric(inventoryAgeDesc, prometheus.GaugeValue, time.Since(st.LastSuccessAt).Seconds(), p.Project)
			ch <- prometheus.MustNewConstMetric(inventorySizeDesc, prometheus.GaugeValue, float64(st.LastSuccessSize), p.Project)
		}
	}
}
