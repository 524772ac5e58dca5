{{/* ConfigMap data of ingest: every setting the chart gives it. */}}
{{- define "liveflow.ingest.config" -}}
{{- $f := dict
  "ticks-topic" .Values.kafka.ticksTopic
  "partitions" .Values.kafka.partitions
  "feed" .Values.ingest.feed
  "ops-addr" (printf ":%d" (int .Values.ingest.opsPort))
  "log-level" .Values.log.level
  "log-format" .Values.log.format }}
{{- if not .Values.kafka.brokersSecret.name }}
{{- $_ := set $f "kafka-brokers" .Values.kafka.brokers }}
{{- end }}
{{- include "liveflow.configData" (dict "flags" (merge $f .Values.ingest.config)) }}
{{- end }}
