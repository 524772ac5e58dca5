{{/*
Names, labels and the pieces every service's manifests share. A service's
templates call these with (dict "root" $ "svc" "edge").
*/}}

{{- define "liveflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The prefix of every resource name; 63 characters minus a service suffix. */}}
{{- define "liveflow.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Name of a service's resources, e.g. liveflow-edge. */}}
{{- define "liveflow.svcname" -}}
{{- printf "%s-%s" (include "liveflow.fullname" .root) .svc }}
{{- end }}

{{- define "liveflow.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{ include "liveflow.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: liveflow
{{- end }}

{{/* Labels that select a service's pods; they never change after install. */}}
{{- define "liveflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "liveflow.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .svc }}
{{- end }}

{{- define "liveflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "liveflow.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "liveflow.image" -}}
{{- $v := index .root.Values .svc }}
{{- $repo := default (printf "%s/%s" .root.Values.image.repository .svc) $v.image.repository }}
{{- $tag := default (default .root.Chart.AppVersion .root.Values.image.tag) $v.image.tag }}
{{- printf "%s:%s" $repo $tag }}
{{- end }}

{{/* The environment variable of a flag: -kafka-brokers is LIVEFLOW_KAFKA_BROKERS. */}}
{{- define "liveflow.envName" -}}
{{- printf "LIVEFLOW_%s" (. | upper | replace "-" "_" | replace "." "_") }}
{{- end }}

{{/*
A value as a flag reads it. YAML numbers arrive as float64, which would print
1000000 as 1e+06, which an integer flag refuses.
*/}}
{{- define "liveflow.flagValue" -}}
{{- if and (kindIs "float64" .) (eq . (floor .)) }}
{{- int64 . }}
{{- else }}
{{- . }}
{{- end }}
{{- end }}

{{/*
ConfigMap data of a service's settings: .flags maps flag names to values;
each becomes its LIVEFLOW_ variable.
*/}}
{{- define "liveflow.configData" -}}
{{- range $flag, $value := .flags }}
{{ include "liveflow.envName" $flag }}: {{ include "liveflow.flagValue" $value | quote }}
{{- end }}
{{- end }}

{{/* Settings read from Secrets, as env entries: .secretFlags maps a flag to {name, key}. */}}
{{- define "liveflow.secretEnv" -}}
{{- range $flag, $ref := .secretFlags }}
- name: {{ include "liveflow.envName" $flag }}
  valueFrom:
    secretKeyRef:
      name: {{ $ref.name }}
      key: {{ $ref.key }}
{{- end }}
{{- end }}

{{/* The flags a Kafka client reads from Secrets. */}}
{{- define "liveflow.kafkaSecretFlags" -}}
{{- if .Values.kafka.brokersSecret.name }}
kafka-brokers: {{ toYaml .Values.kafka.brokersSecret | nindent 2 }}
{{- end }}
{{- end }}

{{/* The flags a Redis client reads from Secrets. */}}
{{- define "liveflow.redisSecretFlags" -}}
{{- if .Values.redis.addrSecret.name }}
redis-addr: {{ toYaml .Values.redis.addrSecret | nindent 2 }}
{{- end }}
{{- end }}

{{/*
Where a service (edge, alerts) finds each credential file it reads, by
flag: .svc's auth values name a Secret and key per file.
*/}}
{{- define "liveflow.authFiles" -}}
{{- $a := (index .root.Values .svc).auth }}
{{- range $flag, $src := dict "jwt-hs256-secret-file" $a.hs256Secret "jwt-rs256-public-key-file" $a.rs256PublicKey "api-keys-file" $a.apiKeys }}
{{- if $src.secretName }}
{{ $flag }}:
  volume: {{ $flag | trimSuffix "-file" }}
  dir: /etc/liveflow/auth/{{ $flag | trimSuffix "-file" }}
  secretName: {{ $src.secretName }}
  key: {{ $src.key }}
{{- end }}
{{- end }}
{{- end }}

{{/* The credential settings of .svc: its auth files, issuer and audience. */}}
{{- define "liveflow.authFlags" -}}
{{- $a := (index .root.Values .svc).auth }}
{{- range $flag, $file := include "liveflow.authFiles" . | fromYaml }}
{{ $flag }}: {{ printf "%s/%s" $file.dir $file.key }}
{{- end }}
{{- with $a.issuer }}
jwt-issuer: {{ . | quote }}
{{- end }}
{{- with $a.audience }}
jwt-audience: {{ . | quote }}
{{- end }}
{{- end }}

{{/* Volumes (.part "volumes") or mounts (.part "mounts") of .svc's credential files. */}}
{{- define "liveflow.authVolumes" -}}
{{- range $flag, $file := include "liveflow.authFiles" . | fromYaml }}
{{- if eq $.part "mounts" }}
- name: {{ $file.volume }}
  mountPath: {{ $file.dir }}
  readOnly: true
{{- else }}
- name: {{ $file.volume }}
  secret:
    secretName: {{ $file.secretName }}
    defaultMode: 0440
    items:
      - key: {{ $file.key }}
        path: {{ $file.key }}
{{- end }}
{{- end }}
{{- end }}

{{/* Pod settings every service shares. */}}
{{- define "liveflow.podCommon" -}}
{{- $v := index .root.Values .svc -}}
serviceAccountName: {{ include "liveflow.serviceAccountName" .root }}
automountServiceAccountToken: false
# Service links would put variables such as LIVEFLOW_EDGE_PORT of a Service
# named liveflow-edge into the environment, where LIVEFLOW_ settings live.
enableServiceLinks: false
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with $v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.topologySpread }}
topologySpreadConstraints:
  {{- range . }}
  - topologyKey: {{ .topologyKey }}
    maxSkew: {{ .maxSkew }}
    whenUnsatisfiable: {{ .whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "liveflow.selectorLabels" $ | nindent 8 }}
  {{- end }}
{{- end }}
{{- end }}

{{/* Pod template metadata: labels, the config checksum that rolls pods on a change. */}}
{{- define "liveflow.podMetadata" -}}
{{- $v := index .root.Values .svc -}}
labels:
  {{- include "liveflow.labels" . | nindent 2 }}
  {{- with $v.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
annotations:
  checksum/config: {{ .config | sha256sum }}
  {{- with $v.podAnnotations }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}

{{/* Probes on the health endpoints of a named port. */}}
{{- define "liveflow.probes" -}}
{{- $v := index .root.Values .svc -}}
startupProbe:
  httpGet:
    path: /healthz
    port: {{ .port }}
  periodSeconds: 5
  failureThreshold: {{ max 1 (div $v.startupSeconds 5) }}
livenessProbe:
  httpGet:
    path: /healthz
    port: {{ .port }}
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /readyz
    port: {{ .port }}
  periodSeconds: 5
  # /readyz checks the connections to Kafka and Redis within two seconds.
  timeoutSeconds: 3
  failureThreshold: 2
{{- end }}

{{/* The container settings every service shares. */}}
{{- define "liveflow.containerCommon" -}}
{{- $v := index .root.Values .svc -}}
image: {{ include "liveflow.image" . }}
imagePullPolicy: {{ .root.Values.image.pullPolicy }}
securityContext:
  {{- toYaml .root.Values.containerSecurityContext | nindent 2 }}
resources:
  {{- toYaml $v.resources | nindent 2 }}
envFrom:
  - configMapRef:
      name: {{ include "liveflow.svcname" . }}
{{- end }}

{{/* A PodDisruptionBudget of a service. */}}
{{- define "liveflow.pdb" -}}
{{- $v := index .root.Values .svc -}}
{{- if and $v.enabled $v.podDisruptionBudget.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "liveflow.svcname" . }}
  labels:
    {{- include "liveflow.labels" . | nindent 4 }}
spec:
  maxUnavailable: {{ $v.podDisruptionBudget.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "liveflow.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end }}

{{/* A HorizontalPodAutoscaler on CPU of a service's Deployment. */}}
{{- define "liveflow.hpa" -}}
{{- $v := index .root.Values .svc -}}
{{- if and $v.enabled $v.autoscaling.enabled }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "liveflow.svcname" . }}
  labels:
    {{- include "liveflow.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "liveflow.svcname" . }}
  minReplicas: {{ $v.autoscaling.minReplicas }}
  maxReplicas: {{ $v.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $v.autoscaling.targetCPUUtilizationPercentage }}
  behavior:
    scaleDown:
      stabilizationWindowSeconds: {{ $v.autoscaling.scaleDownStabilizationSeconds }}
      # One pod at a time: each removal moves partitions or clients.
      policies:
        - type: Pods
          value: 1
          periodSeconds: 60
{{- end }}
{{- end }}

{{/* A ServiceMonitor of a service's metrics port. */}}
{{- define "liveflow.serviceMonitor" -}}
{{- $v := index .root.Values .svc -}}
{{- $m := .root.Values.metrics.serviceMonitor -}}
{{- if and $v.enabled $m.enabled }}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "liveflow.svcname" . }}
  labels:
    {{- include "liveflow.labels" . | nindent 4 }}
    {{- with $m.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "liveflow.selectorLabels" . | nindent 6 }}
  endpoints:
    - port: {{ .port }}
      path: /metrics
      interval: {{ $m.interval }}
      scrapeTimeout: {{ $m.scrapeTimeout }}
{{- end }}
{{- end }}

{{/* Egress to cluster DNS, which every service needs to find Kafka and Redis. */}}
{{- define "liveflow.dnsEgress" -}}
- ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- end }}

{{/* Egress to the peers and ports of a networkPolicy.kafka or .redis entry. */}}
{{- define "liveflow.egressTo" -}}
- ports:
    {{- range .ports }}
    - port: {{ . }}
      protocol: TCP
    {{- end }}
  {{- with .to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
