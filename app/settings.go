package app

import "sync"

// settingsStore keeps small strings across visits: localStorage in the
// browser (settings_js.go). The page keeps its engine choices there.
type settingsStore interface {
	get(key string) string // "" when unset or unreadable
	set(key, value string) // best effort: a full or refused store is not an error worth showing
}

// memorySettings is a settingsStore for one process: the page outside the
// browser (server-side rendering, tests).
type memorySettings struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *memorySettings) get(key string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[key]
}

func (s *memorySettings) set(key, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]string{}
	}
	s.m[key] = value
}
