package main

import (
	"errors"
	"io/fs"
	"net/http"
	"strings"
)

// errBadPath marks a request path the server refuses outright (400): it
// tries to leave the web root or hides something from a plain reading of
// the path.
var errBadPath = errors.New("bad path")

// checkPath rejects request paths that could walk out of a served directory
// or that decoders disagree about: dot segments, empty segments, encoded
// slashes or backslashes, backslashes, NUL and other control characters.
// It looks at both the decoded path and the raw one so that "%2e%2e" and
// "%2f" cannot smuggle a separator or a parent reference past the check.
func checkPath(r *http.Request) error {
	p := r.URL.Path
	raw := r.URL.EscapedPath()
	if !strings.HasPrefix(p, "/") {
		return errBadPath
	}
	lowerRaw := strings.ToLower(raw)
	for _, enc := range []string{"%2f", "%5c", "%00"} {
		if strings.Contains(lowerRaw, enc) {
			return errBadPath
		}
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return errBadPath
		}
	}
	segs := strings.Split(p[1:], "/")
	for i, s := range segs {
		switch s {
		case ".", "..":
			return errBadPath
		case "":
			// A trailing slash is a directory request (answered 404 later);
			// an empty segment anywhere else ("//") is not a path we make.
			if i != len(segs)-1 {
				return errBadPath
			}
		}
	}
	return nil
}

// rejectBadPaths answers 400 to any request checkPath refuses, before any
// other handler (go-app's included) sees it.
func rejectBadPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := checkPath(r); err != nil {
			http.Error(w, "400 bad request: invalid path", http.StatusBadRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// staticName maps a request path under prefix to the name, relative to
// the web directory, of the file it asks for; ok is false for the prefix
// itself, directories (a trailing slash), hidden files (a segment starting
// with a dot) and anything that is not a plain slash-separated relative
// path. It does not rely on checkPath having run: the name it returns
// never leaves the directory by itself (and os.Root refuses links that do).
func staticName(urlPath, prefix string) (name string, ok bool) {
	name, ok = strings.CutPrefix(urlPath, prefix)
	if !ok || name == "" || strings.HasSuffix(name, "/") || hasHiddenSegment(name) {
		return "", false
	}
	if !fs.ValidPath(name) || strings.ContainsAny(name, "\\\x00") {
		return "", false
	}
	return name, true
}

// hasHiddenSegment reports whether any segment of a slash path starts with
// a dot (.git, .env, editor backups): never served.
func hasHiddenSegment(name string) bool {
	for _, seg := range strings.Split(name, "/") {
		if strings.HasPrefix(seg, ".") {
			return true
		}
	}
	return false
}
