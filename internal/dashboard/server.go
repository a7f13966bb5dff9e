// Package dashboard serves `kubectl appstack dashboard`: a live, read-only page of
// every stack, read with the user's own identity through informers
// (docs/dashboard.md). The JSON it serves is in api.go; the page is web/.
//
// The informers are controller-runtime caches: a cache is a client.Reader, so the
// stack page reads its objects with the same code as `kubectl appstack status`
// (internal/inspect), and one cache per namespace can be started when a stack
// page there is first asked for, for the kinds the user may read only there.
package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

const (
	// connectTimeout bounds New's first requests: an unreachable cluster fails
	// the start, it does not hang it.
	connectTimeout = 15 * time.Second
	// syncTimeout is how long a request waits for an informer's first full read.
	syncTimeout = 10 * time.Second
)

// Options are what the server cannot learn from the rest.Config.
type Options struct {
	// Listen is the address the page is served on (host:port, as the listener
	// has it). Requests are answered only when their Host header names this
	// port, and localhost or an IP address (docs/dashboard.md: DNS rebinding).
	Listen string
	// Context is the kubeconfig context the rest.Config came from, for /api/info.
	Context string
	// Version is the plugin's version, for /api/info.
	Version string
	// CommandFlags are added to every command the page offers to copy, so that
	// it reaches the same cluster as the same user (--context, --kubeconfig, --as).
	CommandFlags []string
}

// Server reads the cluster and serves the page and its API.
type Server struct {
	restConfig *rest.Config
	opts       Options
	port       string
	httpClient *http.Client
	cs         kubernetes.Interface
	mapper     meta.RESTMapper
	access     *access
	info       Info
	hub        *hub
	conn       connState
	// probeEvery is how often the API server is asked whether it answers.
	probeEvery time.Duration
	assets     map[string]*asset

	stackKind kind
	eventKind kind
	// kinds are the kinds a stack's objects are read as: its namespace,
	// render.ChildKinds (pods among them) and its revisions.
	kinds    []kind
	kindByGV map[schema.GroupVersionKind]kind

	// stacksForbidden says why the user may not list stacks, when so.
	stacksForbidden string
	// cluster reads the stacks and each kind the user may read everywhere.
	cluster *source
	// stackEvents reads the events about stacks (nil when the user may not), in
	// stackEventsWhere.
	stackEvents      *source
	stackEventsWhere string

	mu         sync.Mutex
	namespaces map[string]*source
	runCtx     context.Context
	running    chan struct{}
}

// New connects to the cluster as cfg says, asks which kinds the identity may
// read cluster-wide and sets up their informers (Run starts them). It fails when
// the cluster cannot be reached, refuses the credentials, or has no AppStack API.
func New(cfg *rest.Config, opts Options) (*Server, error) {
	_, port, err := net.SplitHostPort(opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("dashboard: Options.Listen %q is not host:port (the address the page is served on): %w",
			opts.Listen, err)
	}
	s := &Server{restConfig: rest.CopyConfig(cfg), opts: opts, port: port, hub: newHub(coalesceWindow),
		namespaces: map[string]*source{}, running: make(chan struct{}),
		conn: connState{wake: make(chan struct{}, 1)}, probeEvery: probeEvery}
	if s.httpClient, err = rest.HTTPClientFor(s.restConfig); err != nil {
		return nil, fmt.Errorf("dashboard: client for %s: %w", cfg.Host, err)
	}
	if s.cs, err = kubernetes.NewForConfigAndClient(s.restConfig, s.httpClient); err != nil {
		return nil, fmt.Errorf("dashboard: client for %s: %w", cfg.Host, err)
	}
	if s.mapper, err = apiutil.NewDynamicRESTMapper(s.restConfig, s.httpClient); err != nil {
		return nil, fmt.Errorf("dashboard: discovery of %s: %w", cfg.Host, err)
	}
	s.access = newAccess(s.cs)
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	if err := s.whoAmI(ctx); err != nil {
		return nil, err
	}
	if err := s.resolveKinds(); err != nil {
		return nil, err
	}
	if err := s.setupCluster(ctx); err != nil {
		return nil, err
	}
	if s.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	return s, nil
}

// Info is who the dashboard reads the cluster as, and where.
func (s *Server) Info() Info { return s.info }

// whoAmI asks the API server who the credentials are (SelfSubjectReview): the
// first request, so an unreachable cluster or refused credentials end New.
func (s *Server) whoAmI(ctx context.Context) error {
	s.info = Info{Context: s.opts.Context, Server: s.restConfig.Host, Version: s.opts.Version}
	review, err := s.cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{},
		metav1.CreateOptions{})
	switch {
	case err == nil:
		s.info.User, s.info.Groups = review.Status.UserInfo.Username, review.Status.UserInfo.Groups
	case apierrors.IsNotFound(err):
		// An API server older than SelfSubjectReview (Kubernetes 1.28) answered:
		// reachable, and the kubeconfig's name for the user will do.
		s.info.User = s.restConfig.Impersonate.UserName
		if s.info.User == "" {
			s.info.User = s.restConfig.Username
		}
	default:
		return errors.New(explain(err, s.restConfig.Host, s.opts.Context))
	}
	return nil
}

// resolveKinds finds the resources of the kinds the dashboard reads.
func (s *Server) resolveKinds() error {
	var err error
	s.stackKind, err = resolve(s.mapper, kindStack)
	if meta.IsNoMatchError(err) || apierrors.IsNotFound(err) {
		return fmt.Errorf("the cluster at %s has no AppStack API (%s): install the operator, whose chart installs "+
			"the CRD, or the CRD alone (make install), then start the dashboard again",
			s.restConfig.Host, appstackv1.GroupVersion)
	}
	if err != nil {
		return errors.New(explain(err, s.restConfig.Host, s.opts.Context))
	}
	if s.eventKind, err = resolve(s.mapper, kindEvent); err != nil {
		return err
	}
	s.kindByGV = map[schema.GroupVersionKind]kind{s.stackKind.gvk: s.stackKind, s.eventKind.gvk: s.eventKind}
	for _, proto := range append(append([]client.Object{kindNamespace}, render.ChildKinds()...), kindRevision) {
		k, err := resolve(s.mapper, proto)
		if err != nil {
			return err
		}
		s.kinds = append(s.kinds, k)
		s.kindByGV[k.gvk] = k
	}
	return nil
}

// Run starts the informers and keeps them until ctx ends. The handlers wait for
// it to have started.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.runCtx != nil {
		s.mu.Unlock()
		return errors.New("dashboard: Run called twice")
	}
	s.runCtx = ctx
	s.mu.Unlock()
	close(s.running)
	go s.probeLoop(ctx)
	errc := make(chan error, 2)
	go func() { errc <- s.cluster.cache.Start(ctx) }()
	n := 1
	if s.stackEvents != nil {
		n++
		go func() { errc <- s.stackEvents.cache.Start(ctx) }()
	}
	var first error
	for range n {
		if err := <-errc; err != nil && first == nil {
			first = fmt.Errorf("dashboard: informers: %w", err)
		}
	}
	return first
}

// started waits until Run has started, or ctx ends.
func (s *Server) started(ctx context.Context) error {
	select {
	case <-s.running:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// event kinds' field that names what an event is about.
const eventKindField = "involvedObject.kind"

// isStackEvent: the event is about an AppStack.
func isStackEvent(ev *corev1.Event) bool {
	return ev.InvolvedObject.Kind == "AppStack" &&
		(ev.InvolvedObject.APIVersion == "" || ev.InvolvedObject.APIVersion == appstackv1.GroupVersion.String())
}
