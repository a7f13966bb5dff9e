package dashboard

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
)

// accessTTL is how long a SelfSubjectAccessReview's answer is kept: a page that
// re-reads on every change asks the API server at most this often, and a right
// granted meanwhile shows within it.
const accessTTL = 30 * time.Second

// access answers "may the dashboard's identity do this?" with
// SelfSubjectAccessReviews, kept for accessTTL.
type access struct {
	cs  kubernetes.Interface
	now func() time.Time

	mu      sync.Mutex
	answers map[authorizationv1.ResourceAttributes]answer
}

type answer struct {
	allowed bool
	at      time.Time
}

func newAccess(cs kubernetes.Interface) *access {
	return &access{cs: cs, now: time.Now, answers: map[authorizationv1.ResourceAttributes]answer{}}
}

// can tells whether the identity may do verb on the resource gr, named name
// ("" for any) in namespace ns ("" for every namespace, or a cluster-scoped
// resource).
func (a *access) can(ctx context.Context, verb string, gr schema.GroupResource, ns, name string) (bool, error) {
	attrs := authorizationv1.ResourceAttributes{Verb: verb, Group: gr.Group, Resource: gr.Resource, Namespace: ns, Name: name}
	a.mu.Lock()
	ans, ok := a.answers[attrs]
	a.mu.Unlock()
	if ok && a.now().Sub(ans.at) < accessTTL {
		return ans.allowed, nil
	}
	review, err := a.cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx,
		&authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &attrs}},
		metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("ask the API server whether you may %s %s: %w", verb, describeAttrs(attrs), err)
	}
	a.mu.Lock()
	a.answers[attrs] = answer{allowed: review.Status.Allowed, at: a.now()}
	a.mu.Unlock()
	return review.Status.Allowed, nil
}

// canRead: list and watch, as an informer needs.
func (a *access) canRead(ctx context.Context, gr schema.GroupResource, ns string) (bool, error) {
	for _, verb := range []string{"list", "watch"} {
		ok, err := a.can(ctx, verb, gr, ns, "")
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func describeAttrs(a authorizationv1.ResourceAttributes) string {
	s := a.Resource
	if a.Group != "" {
		s += "." + a.Group
	}
	if a.Name != "" {
		s += " " + a.Name
	}
	if a.Namespace != "" {
		s += " in namespace " + a.Namespace
	}
	return s
}

// joinKinds lists resource names in prose: "deployments, services and ingresses".
func joinKinds(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
