//go:build !js

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/tracing"
	"github.com/chromedp/chromedp"
)

// A taskTrace records the page's main-thread tasks with a Chromium trace:
// each task's wall time, as the Long Tasks API sees it, and its thread
// time, the CPU it actually had. On a shared 2-core machine a task of
// 100 ms of work can take 600 ms of wall time while the GPU process and
// other tests hold the cores; the thread time tells the page's own work
// apart from that.
type taskTrace struct {
	b      *browser
	mu     sync.Mutex
	events []traceEvent
	done   chan struct{}
	over   bool // the trace completed: later events are another trace's
}

// traceEvent is one event of a Chromium JSON trace.
type traceEvent struct {
	Name string          `json:"name"`
	Ph   string          `json:"ph"`
	Ts   float64         `json:"ts"`   // µs, the trace's clock
	Dur  float64         `json:"dur"`  // µs of wall time
	Tdur float64         `json:"tdur"` // µs of thread (CPU) time
	Pid  int             `json:"pid"`
	Tid  int             `json:"tid"`
	Args json.RawMessage `json:"args"`
}

// mainTask is one main-thread task, in the document's performance.now()
// milliseconds.
type mainTask struct {
	Start, Wall, Thread float64
	PostedFrom          string // where Chromium posted it from (its source file)
}

// startTaskTrace starts tracing b's browser: top-level tasks, the page's
// performance marks (to align the trace with the document's clock) and
// the threads' names.
func startTaskTrace(b *browser) *taskTrace {
	b.t.Helper()
	tr := &taskTrace{b: b, done: make(chan struct{})}
	chromedp.Listen(b.ctx, func(ev any) {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		if tr.over {
			return
		}
		switch e := ev.(type) {
		case *tracing.EventDataCollected:
			for _, v := range e.Value {
				var te traceEvent
				if json.Unmarshal(v, &te) == nil && (te.Ph == "X" || te.Ph == "M" || te.Ph == "R" || te.Ph == "I" || te.Ph == "n") {
					tr.events = append(tr.events, te)
				}
			}
		case *tracing.EventTracingComplete:
			tr.over = true
			close(tr.done)
		}
	})
	b.do("start a trace", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, tracing.Start, tracing.StartParams{TraceConfig: &tracing.TraceConfig{
			IncludedCategories: []string{"toplevel", "blink.user_timing", "__metadata"},
		}})
		return err
	}))
	return tr
}

// stop ends the trace and returns the main-thread tasks of the renderer
// that set the performance mark anchor (at anchorMs in its document).
func (tr *taskTrace) stop(anchor string, anchorMs float64) ([]mainTask, error) {
	tr.b.t.Helper()
	tr.b.do("end the trace", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, tracing.End, cdp.Empty{})
		return err
	}))
	<-tr.done
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var markTs float64
	pid := 0
	for _, e := range tr.events {
		if e.Name == anchor {
			markTs, pid = e.Ts, e.Pid // the last: the document that loaded last
		}
	}
	if pid == 0 {
		return nil, fmt.Errorf("the trace has no mark %q", anchor)
	}
	tid := 0
	for _, e := range tr.events {
		if e.Ph == "M" && e.Name == "thread_name" && e.Pid == pid && string(e.Args) == `{"name":"CrRendererMain"}` {
			tid = e.Tid
		}
	}
	if tid == 0 {
		return nil, fmt.Errorf("the trace names no CrRendererMain thread in process %d", pid)
	}
	var tasks []mainTask
	for _, e := range tr.events {
		if e.Pid != pid || e.Tid != tid || e.Ph != "X" || e.Name != "ThreadControllerImpl::RunTask" {
			continue
		}
		var a struct {
			File string `json:"src_file"`
		}
		json.Unmarshal(e.Args, &a)
		tasks = append(tasks, mainTask{Start: anchorMs + (e.Ts-markTs)/1000, Wall: e.Dur / 1000, Thread: e.Tdur / 1000, PostedFrom: a.File})
	}
	sort.Slice(tasks, func(i, j int) bool { return tasks[i].Start < tasks[j].Start })
	return tasks, nil
}
