package metrics

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/net/netutil"
)

// limits bound what clients of the metrics endpoint can make opsdeck hold.
// Any local user can connect to it, so none of this may grow with the
// number of clients: connections past maxConns wait in the kernel's accept
// queue (no descriptor, no memory of ours), and every connection served is
// closed when it stops making progress.
type limits struct {
	maxConns          int           // connections served at once
	readHeaderTimeout time.Duration // to send a request's headers, including the first
	readTimeout       time.Duration // to send a whole request
	writeTimeout      time.Duration // to receive a response; above scrapeTimeout so a 503 gets out
	idleTimeout       time.Duration // between requests on a kept-alive connection
	maxHeaderBytes    int
	maxInFlight       int           // scrapes at once; more are answered 503 at once
	scrapeTimeout     time.Duration // a scrape taking longer is answered 503
}

// defaultLimits serve a few Prometheus servers and a person with curl.
// The idle timeout keeps a connection from one scrape to the next at the
// usual intervals (15 s to 1 min).
var defaultLimits = limits{
	maxConns:          64,
	readHeaderTimeout: 5 * time.Second,
	readTimeout:       10 * time.Second,
	writeTimeout:      20 * time.Second,
	idleTimeout:       90 * time.Second,
	maxHeaderBytes:    8 << 10,
	maxInFlight:       4,
	scrapeTimeout:     10 * time.Second,
}

// Handler serves the collector plus the Go runtime and process metrics of
// opsdeck itself.
func Handler(c *Collector) http.Handler {
	return handler(c, defaultLimits)
}

func handler(c *Collector, l limits) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:            c.log,
		ErrorHandling:       promhttp.ContinueOnError, // serve what could be gathered
		Registry:            reg,                      // promhttp_metric_handler_errors_total
		MaxRequestsInFlight: l.maxInFlight,
		Timeout:             l.scrapeTimeout,
	})
	// promhttp_metric_handler_requests_total by code shows refused scrapes.
	return promhttp.InstrumentMetricHandler(reg, h)
}

// Server is a running metrics endpoint.
type Server struct {
	ln     net.Listener
	limits limits
	srv    *http.Server
	err    chan error
}

// Listen binds addr, so a privileged port can be bound before dropping
// root; Start serves on it.
func Listen(addr string) (*Server, error) {
	return listen(addr, defaultLimits)
}

func listen(addr string, l limits) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listen %q: %w", addr, err)
	}
	return &Server{ln: ln, limits: l, err: make(chan error, 1)}, nil
}

// Start serves c at /metrics until Close.
func (s *Server) Start(c *Collector) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", handler(c, s.limits))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "opsdeck metrics: /metrics")
	})
	s.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: s.limits.readHeaderTimeout,
		ReadTimeout:       s.limits.readTimeout,
		WriteTimeout:      s.limits.writeTimeout,
		IdleTimeout:       s.limits.idleTimeout,
		MaxHeaderBytes:    s.limits.maxHeaderBytes,
		ErrorLog:          log.New(c.log, "", 0),
	}
	ln := netutil.LimitListener(s.ln, s.limits.maxConns)
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.err <- err
	}()
}

// Addr is the address the server listens on (useful with port 0).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops the server, waiting briefly for scrapes in progress.
func (s *Server) Close() error {
	if s.srv == nil {
		return s.ln.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	return errors.Join(err, <-s.err)
}
