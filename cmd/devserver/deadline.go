package main

import (
	"net/http"
	"time"
)

// defaultStallTimeout is how long a client may make no progress reading a
// response before the server drops it.
const defaultStallTimeout = 30 * time.Second

// writeChunk is the most one write to the connection carries under one
// deadline: a client must take in writeChunk bytes per stall timeout
// (about 1 KB/s at 30 s) to be kept.
const writeChunk = 32 << 10

// progressDeadlines drops clients that stop reading. Before every chunk of
// at most writeChunk bytes written, and before the headers, the
// connection's write deadline is moved to stall from now: a slow download
// that keeps moving (the 25 MB model at 200 KB/s takes two minutes) goes on
// as long as it moves, while a client that stops reading fails the write
// within stall and its connection and file are released. A whole-response
// timeout (http.Server.WriteTimeout) could not tell the two apart.
func progressDeadlines(stall time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dw := &deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), stall: stall}
		// A deadline left by the previous request on this connection
		// would otherwise apply to a response with no body.
		dw.renew()
		next.ServeHTTP(dw, r)
		// The rest is flushed after the handler returns.
		dw.renew()
	})
}

// deadlineWriter renews the write deadline on each chunk it passes on.
type deadlineWriter struct {
	http.ResponseWriter
	rc    *http.ResponseController
	stall time.Duration
}

// renew moves the write deadline to stall from now. Writers without
// deadlines (recorders in tests and static site generation) are left as
// they are.
func (d *deadlineWriter) renew() {
	_ = d.rc.SetWriteDeadline(time.Now().Add(d.stall))
}

// WriteHeader sends the status under a fresh deadline.
func (d *deadlineWriter) WriteHeader(code int) {
	d.renew()
	d.ResponseWriter.WriteHeader(code)
}

// Write passes p on in chunks, each under a fresh deadline.
func (d *deadlineWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		c := min(len(p), writeChunk)
		d.renew()
		m, err := d.ResponseWriter.Write(p[:c])
		n += m
		if err != nil {
			return n, err
		}
		p = p[c:]
	}
	return n, nil
}

// Flush sends what is buffered under a fresh deadline.
func (d *deadlineWriter) Flush() {
	d.renew()
	_ = d.rc.Flush()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (d *deadlineWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }
