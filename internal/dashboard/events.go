package dashboard

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// maxEvents is how many recent events a stack page shows.
const maxEvents = 30

// indexInvolvedName indexes the events about stacks by the stack's name.
const indexInvolvedName = "involvedObject.name"

// events are the recent events about the stack and its objects, newest first:
// the stack's own (about a cluster-scoped object, they are recorded in namespace
// default) and those in its namespace about an object of rel.
func (s *Server) events(ctx context.Context, r reader, st *appstackv1.AppStack, rel related) ([]Event, error) {
	var evs []corev1.Event
	if s.stackEvents.synced(s.eventKind) {
		list := &corev1.EventList{}
		if err := s.stackEvents.cache.List(ctx, list, client.MatchingFields{indexInvolvedName: st.Name}); err != nil {
			return nil, fmt.Errorf("read the events about stack %s: %w", st.Name, err)
		}
		for _, ev := range list.Items {
			if isStackEvent(&ev) && (ev.InvolvedObject.UID == "" || ev.InvolvedObject.UID == st.UID) {
				evs = append(evs, ev)
			}
		}
	}
	list := &corev1.EventList{}
	ns := render.NamespaceName(st)
	if err := r.List(ctx, list, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("read the events in namespace %s: %w", ns, err)
	}
	for _, ev := range list.Items {
		io := ev.InvolvedObject
		if rel.has(io.Kind, io.Name, io.UID) {
			evs = append(evs, ev)
		}
	}
	out := make([]Event, 0, len(evs))
	for i := range evs {
		out = append(out, eventOf(&evs[i]))
	}
	slices.SortStableFunc(out, func(a, b Event) int { return b.Last.Compare(a.Last) })
	return out[:min(len(out), maxEvents)], nil
}

// eventOf reads an event as either API writes it: core/v1 (count, last
// timestamp) or events.k8s.io/v1 (a series, an event time).
func eventOf(ev *corev1.Event) Event {
	count := ev.Count
	last := ev.LastTimestamp.Time
	if ev.Series != nil {
		count = max(count, ev.Series.Count)
		if t := ev.Series.LastObservedTime.Time; t.After(last) {
			last = t
		}
	}
	for _, t := range []time.Time{ev.EventTime.Time, ev.FirstTimestamp.Time, ev.CreationTimestamp.Time} {
		if last.IsZero() {
			last = t
		}
	}
	return Event{Type: ev.Type, Reason: ev.Reason, Object: ev.InvolvedObject.Kind + "/" + ev.InvolvedObject.Name,
		Message: ev.Message, Count: cmp.Or(count, 1), Last: last}
}
