{{/* Where ingest finds the vendor key file, when it has one. */}}
{{- define "liveflow.ingest.vendorKeyFile" -}}
{{- with .Values.ingest.vendorKey.secretName }}
volume: vendor-key
dir: /etc/liveflow/vendor
secretName: {{ . }}
key: {{ $.Values.ingest.vendorKey.key }}
{{- end }}
{{- end }}

{{/* ConfigMap data of ingest: every setting the chart gives it. */}}
{{- define "liveflow.ingest.config" -}}
{{- $i := .Values.ingest }}
{{- $f := dict
  "ticks-topic" .Values.kafka.ticksTopic
  "partitions" .Values.kafka.partitions
  "feed" $i.feed
  "ops-addr" (printf ":%d" (int $i.opsPort))
  "log-level" .Values.log.level
  "log-format" .Values.log.format }}
{{- if not .Values.kafka.brokersSecret.name }}
{{- $_ := set $f "kafka-brokers" .Values.kafka.brokers }}
{{- end }}
{{- if $i.feedStatus.enabled }}
{{- $_ := set $f "status-key" $i.feedStatus.key }}
{{- $_ := set $f "redis-mode" .Values.redis.mode }}
{{- if not .Values.redis.addrSecret.name }}
{{- $_ := set $f "redis-addr" .Values.redis.addr }}
{{- end }}
{{- end }}
{{- with include "liveflow.ingest.vendorKeyFile" . | fromYaml }}
{{- $_ := set $f "vendor-key-file" (printf "%s/%s" .dir .key) }}
{{- end }}
{{- include "liveflow.configData" (dict "flags" (merge $f $i.config)) }}
{{- end }}
