package render

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
)

// LabelSpecHash on a ControllerRevision identifies the stack spec it records.
const LabelSpecHash = "apps.appstack.dev/spec-hash"

// AnnotationRolledBack on a stack's ControllerRevision says that the revision
// failed and its workloads were rolled back automatically (spec.rollout); `kubectl
// appstack history` shows it.
const AnnotationRolledBack = "apps.appstack.dev/rolled-back"

// RevisionData is what a revision records: the stack's spec.
type RevisionData struct {
	Spec appstackv1.AppStackSpec `json:"spec"`
}

// SpecHash identifies a stack spec.
func SpecHash(stack *appstackv1.AppStack) (string, error) {
	b, err := json.Marshal(stack.Spec)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:10], nil
}

// Revision is the ControllerRevision that records the stack's current spec as
// revision number n, in the stack's namespace.
func Revision(stack *appstackv1.AppStack, n int64) (*appsv1.ControllerRevision, error) {
	hash, err := SpecHash(stack)
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(RevisionData{Spec: stack.Spec})
	if err != nil {
		return nil, err
	}
	labels := StackLabels(stack)
	labels[LabelSpecHash] = hash
	return &appsv1.ControllerRevision{
		TypeMeta: metav1.TypeMeta{APIVersion: appsv1.SchemeGroupVersion.String(), Kind: "ControllerRevision"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("%s-%s", stack.Name, hash),
			Namespace: NamespaceName(stack),
			Labels:    labels,
		},
		Data:     runtime.RawExtension{Raw: data},
		Revision: n,
	}, nil
}
