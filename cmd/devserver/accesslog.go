package main

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"
)

// logger writes the server's messages and access log to stderr.
var logger = log.New(os.Stderr, "", log.LstdFlags)

// logf writes one server message.
func logf(format string, args ...any) { logger.Printf(format, args...) }

// accessLog writes one line per request: client, method and quoted path
// (so control characters cannot forge log lines), status, body bytes,
// duration and content encoding.
func accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		enc := rec.Header().Get("Content-Encoding")
		if enc == "" {
			enc = "-"
		}
		ms := float64(time.Since(start).Microseconds()) / 1000
		logger.Print(fmt.Sprintf("%s %s %q %d %dB %.2fms %s", host, r.Method, r.URL.RequestURI(), rec.status, rec.bytes, ms, enc))
	})
}

// statusRecorder remembers the status and counts the bytes written.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

// WriteHeader records the status.
func (s *statusRecorder) WriteHeader(code int) {
	if !s.wroteHeader {
		s.status, s.wroteHeader = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

// Write counts the body bytes.
func (s *statusRecorder) Write(p []byte) (int, error) {
	s.wroteHeader = true
	n, err := s.ResponseWriter.Write(p)
	s.bytes += int64(n)
	return n, err
}
