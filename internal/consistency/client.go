package consistency

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Client records every write made through it in the Writes of the context's
// pass (WithWrites); outside a pass it is the client it wraps.
type Client struct {
	client.Client
}

// NewClient wraps c.
func NewClient(c client.Client) *Client { return &Client{Client: c} }

func record(ctx context.Context, obj client.Object, err error) error {
	if w := FromContext(ctx); w != nil && err == nil {
		w.Wrote(obj)
	}
	return err
}

func (c *Client) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	return record(ctx, obj, c.Client.Create(ctx, obj, opts...))
}

func (c *Client) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	return record(ctx, obj, c.Client.Update(ctx, obj, opts...))
}

func (c *Client) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	return record(ctx, obj, c.Client.Patch(ctx, obj, patch, opts...))
}

// Apply records the object the apply returned, when the apply configuration
// carries it (an unstructured one does: the response is decoded into it).
func (c *Client) Apply(ctx context.Context, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
	if err := c.Client.Apply(ctx, obj, opts...); err != nil {
		return err
	}
	if u, ok := obj.(interface{ UnstructuredContent() map[string]any }); ok {
		if w := FromContext(ctx); w != nil {
			w.Wrote(&unstructured.Unstructured{Object: u.UnstructuredContent()})
		}
	}
	return nil
}

func (c *Client) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	err := c.Client.Delete(ctx, obj, opts...)
	if w := FromContext(ctx); w != nil && err == nil {
		w.Deleted(obj)
	}
	return err
}

// Status records the status writes too.
func (c *Client) Status() client.SubResourceWriter {
	return &statusWriter{SubResourceWriter: c.Client.Status()}
}

type statusWriter struct {
	client.SubResourceWriter
}

func (s *statusWriter) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	return record(ctx, obj, s.SubResourceWriter.Update(ctx, obj, opts...))
}

func (s *statusWriter) Patch(
	ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption,
) error {
	return record(ctx, obj, s.SubResourceWriter.Patch(ctx, obj, patch, opts...))
}
