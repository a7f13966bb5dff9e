// Package schema validates an AppStack offline against the CRD's own OpenAPI schema
// and CEL rules, with the apiserver's validation code, so `kubectl appstack render`
// reports exactly what `kubectl apply` would, without a cluster.
package schema

import (
	"context"
	"fmt"
	"sort"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"

	"github.com/appstack-dev/appstack-operator/config/crd"
)

// Validator checks objects of one CRD version.
type Validator struct {
	structural *structuralschema.Structural
	openAPI    apiservervalidation.SchemaValidator
	cel        *cel.Validator
}

// ForAppStack returns a Validator for the served version of the embedded AppStack CRD.
func ForAppStack() (*Validator, error) {
	c := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal(crd.AppStack, c); err != nil {
		return nil, fmt.Errorf("read the embedded CRD: %w", err)
	}
	for _, v := range c.Spec.Versions {
		if v.Served && v.Schema != nil {
			return New(v.Schema.OpenAPIV3Schema)
		}
	}
	return nil, fmt.Errorf("the embedded CRD %s serves no version with a schema", c.Name)
}

// New returns a Validator for a CRD version's schema.
func New(v1 *apiextensionsv1.JSONSchemaProps) (*Validator, error) {
	internal := &apiextensions.JSONSchemaProps{}
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v1, internal, nil); err != nil {
		return nil, err
	}
	ss, err := structuralschema.NewStructural(internal)
	if err != nil {
		return nil, fmt.Errorf("structural schema: %w", err)
	}
	openAPI, _, err := apiservervalidation.NewSchemaValidator(internal)
	if err != nil {
		return nil, fmt.Errorf("openAPI validator: %w", err)
	}
	return &Validator{structural: ss, openAPI: openAPI, cel: cel.NewValidator(ss, true, celconfig.PerCallLimit)}, nil
}

// Validate defaults obj in place (as the apiserver would before storing it) and
// returns every error the apiserver would report on create: unknown fields (as
// `kubectl apply --validate=strict` does), schema violations, duplicate list keys
// and CEL rules.
func (v *Validator) Validate(ctx context.Context, obj map[string]any) field.ErrorList {
	var errs field.ErrorList
	unknown := pruning.PruneWithOptions(obj, v.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	sort.Strings(unknown)
	for _, p := range unknown {
		errs = append(errs, field.Forbidden(field.NewPath(p), "unknown field; check the spelling with `kubectl explain appstack.spec`"))
	}
	structuraldefaulting.Default(obj, v.structural)
	schemaErrs := apiservervalidation.ValidateCustomResource(nil, obj, v.openAPI)
	schemaErrs = append(schemaErrs, listtype.ValidateListSetsAndMaps(nil, v.structural, obj)...)
	if len(schemaErrs) > 0 {
		// CEL rules assume a schema-valid object, as in the apiserver.
		return append(errs, schemaErrs...)
	}
	celErrs, _ := v.cel.Validate(ctx, nil, v.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...)
}
