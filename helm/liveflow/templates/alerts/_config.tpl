{{/* ConfigMap data of the alerts service: every setting the chart gives it. */}}
{{- define "liveflow.alerts.config" -}}
{{- $a := .Values.alerts }}
{{- $f := dict
  "http-addr" (printf ":%d" (int $a.httpPort))
  "shards" .Values.redis.shards
  "redis-mode" .Values.redis.mode
  "shutdown-grace" (printf "%ds" (int $a.shutdownGraceSeconds))
  "log-level" .Values.log.level
  "log-format" .Values.log.format }}
{{- if not .Values.redis.addrSecret.name }}
{{- $_ := set $f "redis-addr" .Values.redis.addr }}
{{- end }}
{{- $f = merge $f (include "liveflow.authFlags" (dict "root" . "svc" "alerts") | fromYaml) }}
{{- include "liveflow.configData" (dict "flags" (merge $f $a.config)) }}
{{- end }}
