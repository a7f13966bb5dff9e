package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/manifest"
	"github.com/appstack-dev/appstack-operator/internal/render"
	"github.com/appstack-dev/appstack-operator/internal/schema"
)

func newRenderCommand(out io.Writer) *cobra.Command {
	var files []string
	cmd := &cobra.Command{
		Use:   "render -f STACK.yaml",
		Short: "Print the native objects the operator would apply for a stack, without a cluster",
		Long: `render validates each AppStack in the files as the apiserver would (schema,
CEL rules, unknown fields) plus what only the operator checks (dependency cycles,
two parts of the stack making objects of one kind and name), then prints the
Namespace, ConfigMaps, PersistentVolumeClaims, workloads, Services, Ingresses,
autoscalers and disruption budgets the operator applies, as YAML.
At apply time the operator adds the stack's controller reference (to objects it
creates), the apps.appstack.dev/applied-hash annotation and the live object's UID,
and on an adopted namespace apps.appstack.dev/restore-on-release.

An invalid stack prints each error with its field and exits 1.`,
		Example: `  kubectl appstack render -f config/samples/apps_v1alpha1_appstack_database.yaml
  cat shop.yaml | kubectl appstack render -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files) == 0 {
				return errors.New("no input: pass -f FILE (or -f - for standard input)")
			}
			return runRender(cmd.Context(), files, cmd.InOrStdin(), out)
		},
	}
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, "file with one or more AppStacks (- for standard input)")
	return cmd
}

func runRender(ctx context.Context, files []string, stdin io.Reader, out io.Writer) error {
	v, err := schema.ForAppStack()
	if err != nil {
		return err
	}
	var objs []client.Object
	var problems []string
	for _, f := range files {
		stacks, err := readStacks(f, stdin)
		if err != nil {
			return err
		}
		for _, doc := range stacks {
			stack, errs := validate(ctx, v, doc.obj)
			if len(errs) > 0 {
				problems = append(problems, doc.problems(errs)...)
				continue
			}
			desired, err := render.Render(stack)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: AppStack %q: %s", doc.source, stack.Name, err))
				continue
			}
			objs = append(objs, desired.Objects()...)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("invalid input, nothing rendered:\n  %s", strings.Join(problems, "\n  "))
	}
	b, err := manifest.YAML(objs)
	if err != nil {
		return err
	}
	_, err = out.Write(b)
	return err
}

type document struct {
	source string
	obj    map[string]any
}

func (d document) name() string {
	if md, ok := d.obj["metadata"].(map[string]any); ok {
		if n, ok := md["name"].(string); ok {
			return n
		}
	}
	return ""
}

// problems are a document's validation errors, one line each, naming the file,
// the stack and the field.
func (d document) problems(errs field.ErrorList) []string {
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		out = append(out, fmt.Sprintf("%s: AppStack %q: %s", d.source, d.name(), e.Error()))
	}
	return out
}

// readStacks reads every YAML document of a file; each must be an AppStack.
func readStacks(path string, stdin io.Reader) ([]document, error) {
	r := stdin
	source := "<stdin>"
	if path != "-" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		r, source = bytes.NewReader(b), path
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var docs []document
	for i := 1; ; i++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		// Integers must stay integers for the schema and CEL, as the apiserver
		// decodes them: YAML → JSON → apimachinery's JSON decoder.
		js, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, i, err)
		}
		var obj map[string]any
		if err := utiljson.Unmarshal(js, &obj); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, i, err)
		}
		if len(obj) == 0 {
			continue
		}
		if obj["apiVersion"] != appstackv1.GroupVersion.String() || obj["kind"] != "AppStack" {
			return nil, fmt.Errorf("%s: document %d is %v %v, not an %s AppStack", source, i,
				obj["apiVersion"], obj["kind"], appstackv1.GroupVersion)
		}
		docs = append(docs, document{source: source, obj: obj})
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("%s: no AppStack found", source)
	}
	return docs, nil
}

// validate runs the CRD's validation (which also applies its defaults) and converts
// the result into a typed stack.
func validate(ctx context.Context, v *schema.Validator, obj map[string]any) (*appstackv1.AppStack, field.ErrorList) {
	if errs := v.Validate(ctx, obj); len(errs) > 0 {
		return nil, errs
	}
	stack := &appstackv1.AppStack{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(obj, stack, true); err != nil {
		return nil, field.ErrorList{field.InternalError(nil, err)}
	}
	return stack, nil
}
