package dashboard

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

const (
	// coalesceWindow: the changes of one stack within it make one event (a
	// rollout's burst of pod and workload updates is one re-read of the page).
	coalesceWindow = 100 * time.Millisecond
	// keepaliveEvery: a comment on an idle stream, so that nothing between the
	// page and the server takes it for dead.
	keepaliveEvery = 15 * time.Second
)

// hub fans the stacks' changes out to the pages that follow them, each stack's
// changes coalesced over a window.
type hub struct {
	window time.Duration

	mu      sync.Mutex
	pending map[string]bool
	subs    map[*subscriber]bool
}

func newHub(window time.Duration) *hub {
	return &hub{window: window, pending: map[string]bool{}, subs: map[*subscriber]bool{}}
}

// notify: stack changed. The first change in a window is sent at its end, with
// those that followed it.
func (h *hub) notify(stack string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pending[stack] {
		return
	}
	h.pending[stack] = true
	time.AfterFunc(h.window, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.pending, stack)
		for sub := range h.subs {
			sub.add(stack)
		}
	})
}

// cluster tells every page that the API server stopped answering (msg says
// why) or answers again (msg empty).
func (h *hub) cluster(msg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for sub := range h.subs {
		sub.mu.Lock()
		sub.clusterMsg = &msg
		sub.mu.Unlock()
		sub.poke()
	}
}

func (h *hub) subscribe() *subscriber {
	sub := &subscriber{wake: make(chan struct{}, 1), changed: map[string]bool{}}
	h.mu.Lock()
	h.subs[sub] = true
	h.mu.Unlock()
	return sub
}

func (h *hub) unsubscribe(sub *subscriber) {
	h.mu.Lock()
	delete(h.subs, sub)
	h.mu.Unlock()
}

// subscriber is one page's stream: the stacks changed since it last wrote, in
// order, never dropped (a slow page gets each stack once, however often it
// changed meanwhile).
type subscriber struct {
	wake    chan struct{}
	mu      sync.Mutex
	changed map[string]bool
	order   []string
	// clusterMsg is the API server's state to tell, when it changed.
	clusterMsg *string
}

func (sub *subscriber) add(stack string) {
	sub.mu.Lock()
	if !sub.changed[stack] {
		sub.changed[stack] = true
		sub.order = append(sub.order, stack)
	}
	sub.mu.Unlock()
	sub.poke()
}

func (sub *subscriber) poke() {
	select {
	case sub.wake <- struct{}{}:
	default:
	}
}

// take returns, and forgets, the stacks changed and the API server's state when
// it changed.
func (sub *subscriber) take() ([]string, *string) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	out, msg := sub.order, sub.clusterMsg
	sub.order, sub.changed, sub.clusterMsg = nil, map[string]bool{}, nil
	return out, msg
}

// writeEvents writes what sub has to tell: "cluster" when the API server's
// state changed, then a "change" per stack; false when the page is gone.
func writeEvents(w http.ResponseWriter, sub *subscriber) bool {
	stacks, msg := sub.take()
	if msg != nil {
		data, _ := json.Marshal(map[string]string{"error": *msg})
		if _, err := fmt.Fprintf(w, "event: cluster\ndata: %s\n\n", data); err != nil {
			return false
		}
	}
	for _, stack := range stacks {
		data, _ := json.Marshal(map[string]string{"stack": stack})
		if _, err := fmt.Fprintf(w, "event: change\ndata: %s\n\n", data); err != nil {
			return false
		}
	}
	return true
}

// tellOutage queues an "event: cluster" for a page that subscribes while the
// API server does not answer: the probe tells only the pages already following
// when the state changes, so one that opens or reconnects during an outage
// would otherwise take the cluster for live.
func (s *Server) tellOutage(sub *subscriber) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	// A message set since subscribe came from the probe after this state: newer.
	if err := s.connError(); err != nil && sub.clusterMsg == nil {
		msg := explain(err, s.restConfig.Host, s.opts.Context)
		sub.clusterMsg = &msg
		sub.poke()
	}
}

// serveWatch is GET /api/watch: server-sent events, "event: change" with
// {"stack": NAME} for each stack that changed, "event: cluster" with {"error":
// why} when the API server stops answering ("" when it answers again), a
// keepalive comment when idle.
func (s *Server) serveWatch(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, r, http.StatusInternalServerError, "this connection cannot stream events")
		return
	}
	sub := s.hub.subscribe()
	defer s.hub.unsubscribe(sub)
	s.tellOutage(sub)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// The page reconnects 2 s after a dropped stream; the first comment opens it.
	if _, err := fmt.Fprint(w, "retry: 2000\n: following the cluster\n\n"); err != nil {
		return
	}
	flusher.Flush()
	keepalive := time.NewTicker(keepaliveEvery)
	defer keepalive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-keepalive.C:
			if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil {
				return
			}
		case <-sub.wake:
			if !writeEvents(w, sub) {
				return
			}
		}
		flusher.Flush()
	}
}
