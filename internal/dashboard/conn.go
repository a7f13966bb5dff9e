package dashboard

import (
	"context"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// probeEvery: how often the API server is asked whether it still answers
	// and takes the credentials. An informer does not say when it cannot reach
	// the API server (it retries its watch quietly), so the page would show a
	// stale cluster as live without this.
	probeEvery = 10 * time.Second
	// probeFailingEvery: how often once it does not, to say soon that it is back.
	probeFailingEvery = 2 * time.Second
	probeTimeout      = 5 * time.Second
)

// connState is whether the API server answered the last probe, and if not, why.
type connState struct {
	wake chan struct{}
	mu   sync.Mutex
	err  error
}

func (s *Server) connError() error {
	s.conn.mu.Lock()
	defer s.conn.mu.Unlock()
	return s.conn.err
}

// probeNow asks the probe to look at once (an informer met an error).
func (s *Server) probeNow() {
	select {
	case s.conn.wake <- struct{}{}:
	default:
	}
}

// probeLoop asks the API server who the credentials are (SelfSubjectReview:
// authenticated, and it reads nothing), every probeEvery, every
// probeFailingEvery while it fails, and when an informer meets an error. A
// change is told to the pages that follow the cluster.
func (s *Server) probeLoop(ctx context.Context) {
	for {
		every := s.probeEvery
		if s.connError() != nil {
			every = min(every, probeFailingEvery)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		case <-s.conn.wake:
		}
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		_, err := s.cs.AuthenticationV1().SelfSubjectReviews().Create(pctx, &authenticationv1.SelfSubjectReview{},
			metav1.CreateOptions{})
		cancel()
		if apierrors.IsNotFound(err) || ctx.Err() != nil { // an API server older than the review answered
			err = nil
		}
		s.conn.mu.Lock()
		changed := (err == nil) != (s.conn.err == nil)
		s.conn.err = err
		s.conn.mu.Unlock()
		if changed {
			msg := ""
			if err != nil {
				msg = explain(err, s.restConfig.Host, s.opts.Context)
			}
			s.hub.cluster(msg)
		}
	}
}
