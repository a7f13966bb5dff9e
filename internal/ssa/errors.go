package ssa

import (
	"errors"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Replaceable tells the kinds that are deleted and created again when a change
// cannot be applied in place (a bare Pod's spec, a Job's pod template, a Service
// switching to or from headless): nothing of value lives in them. StatefulSets and
// claims are never replaced; the plan refuses such changes as unsafe. The
// controller replaces them; `kubectl appstack diff` says it would.
func Replaceable(kind string) bool {
	return kind == "Pod" || kind == "Job" || kind == "Service"
}

// Immutable tells whether the apiserver refused an apply only because it changes
// fields that are fixed once set. Any other refusal — an invalid value, a node port
// already allocated — is reported as a failed apply, never answered by a deletion.
func Immutable(err error) bool {
	var status apierrors.APIStatus
	if err == nil || !apierrors.IsInvalid(err) {
		return false
	}
	fixed := func(msg string) bool {
		return strings.Contains(msg, "field is immutable") || strings.Contains(msg, "may not change once set") ||
			strings.Contains(msg, "pod updates may not change fields")
	}
	if !errors.As(err, &status) || status.Status().Details == nil || len(status.Status().Details.Causes) == 0 {
		return fixed(err.Error())
	}
	for _, c := range status.Status().Details.Causes {
		if !fixed(c.Message) {
			return false
		}
	}
	return true
}

// APIMessage is the stable part of an apiserver error: its status message, which
// names the field at fault, without client-side wrapping.
func APIMessage(err error) string {
	var s apierrors.APIStatus
	if errors.As(err, &s) {
		return s.Status().Message
	}
	return err.Error()
}
