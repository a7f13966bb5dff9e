package dashboard

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// explain says in words what a failed request to the API server means and what
// to do: the cluster cannot be reached, the credentials are refused, or the
// request itself failed.
func explain(err error, host, kubeContext string) string {
	where := host
	if kubeContext != "" {
		where = fmt.Sprintf("%s (context %s)", host, kubeContext)
	}
	var (
		netErr  net.Error
		urlErr  *url.Error
		unknown x509.UnknownAuthorityError
		invalid x509.CertificateInvalidError
		hostErr x509.HostnameError
	)
	switch {
	case apierrors.IsUnauthorized(err):
		return fmt.Sprintf("the API server at %s refused your credentials (401 Unauthorized: expired or revoked). "+
			"Log in again so that your kubeconfig holds valid ones (a credential plugin renews them by itself once "+
			"you have), or pick another context with --context", where)
	case errors.As(err, &unknown), errors.As(err, &invalid), errors.As(err, &hostErr):
		return fmt.Sprintf("the API server at %s cannot be trusted: %v. Check that your kubeconfig's "+
			"certificate-authority matches the cluster", where, err)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr), errors.As(err, &urlErr),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Sprintf("cannot reach the API server at %s: %v. Check that the cluster is running and that "+
			"your kubeconfig (or --context, --server) points at it", where, err)
	default:
		return fmt.Sprintf("reading the cluster at %s failed: %v", where, err)
	}
}

// benignWatchError: what an informer meets in its normal course (a watch that
// ended, a resource version too old to resume from) and recovers from at once.
func benignWatchError(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || apierrors.IsResourceExpired(err) || apierrors.IsGone(err)
}
