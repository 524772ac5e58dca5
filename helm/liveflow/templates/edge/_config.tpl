{{/* Where the edge finds each credential file it reads, by flag. */}}
{{- define "liveflow.edge.authFiles" -}}
{{- $a := .Values.edge.auth }}
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

{{/* ConfigMap data of the edges: every setting the chart gives them. */}}
{{- define "liveflow.edge.config" -}}
{{- $e := .Values.edge }}
{{- $f := dict
  "http-addr" (printf ":%d" (int $e.httpPort))
  "shards" .Values.redis.shards
  "fanout" $e.fanout
  "redis-mode" .Values.redis.mode
  "feed-status-key" (ternary .Values.ingest.feedStatus.key "" .Values.ingest.feedStatus.enabled)
  "drain-period" (printf "%ds" (int $e.drainPeriodSeconds))
  "shutdown-grace" (printf "%ds" (int $e.shutdownGraceSeconds))
  "log-level" .Values.log.level
  "log-format" .Values.log.format }}
{{- if not .Values.redis.addrSecret.name }}
{{- $_ := set $f "redis-addr" .Values.redis.addr }}
{{- end }}
{{- with $e.allowedOrigins }}
{{- $_ := set $f "allowed-origins" (join "," .) }}
{{- end }}
{{- with $e.auth.issuer }}
{{- $_ := set $f "jwt-issuer" . }}
{{- end }}
{{- with $e.auth.audience }}
{{- $_ := set $f "jwt-audience" . }}
{{- end }}
{{- range $flag, $file := include "liveflow.edge.authFiles" . | fromYaml }}
{{- $_ := set $f $flag (printf "%s/%s" $file.dir $file.key) }}
{{- end }}
{{- include "liveflow.configData" (dict "flags" (merge $f $e.config)) }}
{{- end }}

{{/*
Seconds from the start of termination to SIGKILL: the preStop pause, then
the drain and the clients' close, then a margin for the process to exit.
*/}}
{{- define "liveflow.edge.terminationGrace" -}}
{{- $e := .Values.edge }}
{{- if kindIs "invalid" $e.terminationGracePeriodSeconds }}
{{- add $e.preStopSleepSeconds $e.shutdownGraceSeconds 5 }}
{{- else }}
{{- $e.terminationGracePeriodSeconds }}
{{- end }}
{{- end }}
