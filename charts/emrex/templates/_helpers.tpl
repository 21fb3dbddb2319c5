{{/* Chart name, at most 63 characters. */}}
{{- define "emrex.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's objects, at most 63 characters. */}}
{{- define "emrex.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Name of cluster-scoped objects (ClusterRole, ClusterRoleBinding): the release namespace comes first,
so releases with the same name in different namespaces (one per federation) do not collide.
*/}}
{{- define "emrex.clusterName" -}}
{{- printf "%s-%s" .Release.Namespace (include "emrex.fullname" .) }}
{{- end }}

{{- define "emrex.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of everything the release creates, without the component. */}}
{{- define "emrex.commonLabels" -}}
helm.sh/chart: {{ include "emrex.chart" . | quote }}
app.kubernetes.io/name: {{ include "emrex.name" . | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
app.kubernetes.io/part-of: emrex
{{- end }}

{{/* The operator's Pods. */}}
{{- define "emrex.selectorLabels" -}}
app.kubernetes.io/name: {{ include "emrex.name" . | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/component: operator
{{- end }}

{{/* Labels of the operator's objects. */}}
{{- define "emrex.labels" -}}
{{ include "emrex.commonLabels" . }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "emrex.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "emrex.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image of the operator, and of what it runs: repository:tag (tag defaults to appVersion). */}}
{{- define "emrex.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Lease name: one per release, so two operators in one namespace never share a lease. */}}
{{- define "emrex.leaseName" -}}
{{- include "emrex.fullname" . }}
{{- end }}

{{/*
The namespace the operator watches with rbac.scope=namespace (empty output with cluster scope).
One operator process watches one namespace, so watchNamespaces holds at most one entry (the schema
says so; this checks again for values that bypass it).
*/}}
{{- define "emrex.watchNamespace" -}}
{{- if eq .Values.rbac.scope "namespace" }}
{{- if gt (len .Values.watchNamespaces) 1 }}
{{- fail "watchNamespaces: one operator watches one namespace; install one release per namespace (docs/deploy.md)" }}
{{- end }}
{{- default .Release.Namespace (first .Values.watchNamespaces) }}
{{- else if .Values.watchNamespaces }}
{{- fail "watchNamespaces applies to rbac.scope=namespace only; with rbac.scope=cluster the operator watches every namespace" }}
{{- end }}
{{- end }}

{{/* The five CustomResourceDefinitions of emrex.eu (RBAC resourceNames for --apply-crds). */}}
{{- define "emrex.crdNames" -}}
- registries.emrex.eu
- registryentries.emrex.eu
- nationalcontactpoints.emrex.eu
- studentmobilityplugins.emrex.eu
- signingcertificates.emrex.eu
{{- end }}
