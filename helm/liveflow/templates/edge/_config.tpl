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
{{- $f = merge $f (include "liveflow.authFlags" (dict "root" . "svc" "edge") | fromYaml) }}
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
