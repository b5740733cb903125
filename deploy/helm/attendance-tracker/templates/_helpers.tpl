{{/*
Names. The chart's objects are <fullname>-<service>, e.g. attendance-attendance-tracker-embedder
(or attendance-tracker-embedder when the release is named attendance-tracker).
*/}}
{{- define "attendance.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "attendance.fullname" -}}
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

{{/* The name of one service's objects. Call with (dict "root" $ "name" "embedder"). */}}
{{- define "attendance.componentName" -}}
{{- printf "%s-%s" (include "attendance.fullname" .root) .name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "attendance.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "attendance.labels" -}}
helm.sh/chart: {{ include "attendance.chart" . }}
app.kubernetes.io/name: {{ include "attendance.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: attendance-tracker
{{- end }}

{{/* Selector labels of one service. Call with (dict "root" $ "name" "embedder"). */}}
{{- define "attendance.selectorLabels" -}}
app.kubernetes.io/name: {{ include "attendance.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{- define "attendance.componentLabels" -}}
{{ include "attendance.labels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{/* The image of one service: <registry>/<repository>/<service>:<tag>. */}}
{{- define "attendance.image" -}}
{{- $image := .root.Values.image }}
{{- $repository := printf "%s/%s" (required "image.repository is required" $image.repository | trimSuffix "/") .name }}
{{- if $image.registry }}
{{- $repository = printf "%s/%s" ($image.registry | trimSuffix "/") $repository }}
{{- end }}
{{- printf "%s:%s" $repository (default .root.Chart.AppVersion $image.tag | toString) }}
{{- end }}

{{/* The Secret holding AMQP_URL, MONGO_URI (and optionally API_TOKENS). */}}
{{- define "attendance.secretName" -}}
{{- if .Values.secret.create }}
{{- printf "%s-connections" (include "attendance.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- required "secret.existingSecret must name a Secret with AMQP_URL and MONGO_URI (or set secret.create=true with secret.amqpUrl and secret.mongoUri)" .Values.secret.existingSecret }}
{{- end }}
{{- end }}

{{- define "attendance.triggerAuthName" -}}
{{- printf "%s-rabbitmq" (include "attendance.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Whether a service is autoscaled by KEDA: "true" or "". Call with (dict "root" $ "svc" $svc). */}}
{{- define "attendance.autoscaled" -}}
{{- if and .root.Values.keda.enabled .svc.autoscaling .svc.autoscaling.enabled }}true{{ end }}
{{- end }}

{{/* Variables the chart sets itself: never from env or extraEnv. */}}
{{- define "attendance.reservedEnv" -}}
{{- $reserved := list "AMQP_URL" "MONGO_URI" "API_TOKENS" "GATEWAY_HOST" "KERAS_FACENET_CACHE" }}
{{- range $name, $svc := .Values.services }}
{{- $reserved = append $reserved $svc.portVariable }}
{{- end }}
{{- $reserved | uniq | toJson }}
{{- end }}
