{{- define "appstack-operator.name" -}}appstack-operator{{- end -}}

{{- define "appstack-operator.fullname" -}}
{{- if contains "appstack-operator" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-appstack-operator" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "appstack-operator.labels" -}}
app.kubernetes.io/name: appstack-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "appstack-operator.selectorLabels" -}}
app.kubernetes.io/name: appstack-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
