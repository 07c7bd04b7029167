{{/* The chart's name. */}}
{{- define "warden.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's full name, the prefix of every object. */}}
{{- define "warden.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "warden.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "warden.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "warden.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "warden.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: warden
{{- end -}}

{{/* Selector labels of one worker; call with (dict "root" $ "name" $name). */}}
{{- define "warden.selectorLabels" -}}
app.kubernetes.io/name: {{ include "warden.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* The object name of one worker; call with (dict "root" $ "name" $name). */}}
{{- define "warden.workerName" -}}
{{- printf "%s-%s" (include "warden.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* A topic name: <prefix>.<kind>.v1 (packages/runtime/src/topics.ts); call with (dict "root" $ "kind" $kind). */}}
{{- define "warden.topic" -}}
{{- printf "%s.%s.v1" .root.Values.kafka.topicPrefix .kind -}}
{{- end -}}

{{/* A worker's consumer group: <prefix>.<worker> (the runtime's default); call with (dict "root" $ "name" $name). */}}
{{- define "warden.groupId" -}}
{{- printf "%s.%s" .root.Values.kafka.topicPrefix .name -}}
{{- end -}}

{{/* The Secret the workers read keys and tokens from. */}}
{{- define "warden.secretName" -}}
{{- required "secrets.existingSecret names the Secret holding the workers' keys" .Values.secrets.existingSecret -}}
{{- end -}}

{{/* The service account's name. */}}
{{- define "warden.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "warden.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* A worker's drain time in ms: its own shutdownGraceMs, else config.shutdownGraceMs. Call with (dict "root" $ "w" $w). */}}
{{- define "warden.graceMs" -}}
{{- int (default .root.Values.config.shutdownGraceMs .w.shutdownGraceMs) -}}
{{- end -}}

{{/* Whether a worker is scaled on lag (autoscaling on, and the worker consumes something). */}}
{{- define "warden.autoscaled" -}}
{{- if and (ne .root.Values.autoscaling.mode "none") .w.autoscaling (gt (len .w.consumes) 0) (ne .w.kind "auditor") -}}
true
{{- end -}}
{{- end -}}

{{/* Environment variables that must come from the Secret, never from values or a ConfigMap. */}}
{{- define "warden.secretEnvNames" -}}
MONGO_URL OPENAI_API_KEY AUDITOR_API_KEYS AUDITOR_CHECKPOINT_KEY ESCALATION_SIGNING_KEY ESCALATION_JWT_HS256_SECRET ESCALATION_WEBHOOK_SECRET GUARD_SIGNING_KEY
{{- end -}}
