{{/* ConfigMap data of the scorers: every setting the chart gives them. */}}
{{- define "liveflow.scorer.config" -}}
{{- $f := dict
  "ticks-topic" .Values.kafka.ticksTopic
  "partitions" .Values.kafka.partitions
  "group" .Values.scorer.group
  "state-topic" .Values.scorer.stateTopic
  "flow-topic" .Values.scorer.flowTopic
  "dlq-topic" .Values.scorer.deadLetterTopic
  "redis-mode" .Values.redis.mode
  "shards" .Values.redis.shards
  "stream-notify" (eq .Values.edge.fanout "pubsub")
  "ops-addr" (printf ":%d" (int .Values.scorer.opsPort))
  "log-level" .Values.log.level
  "log-format" .Values.log.format }}
{{- if not .Values.kafka.brokersSecret.name }}
{{- $_ := set $f "kafka-brokers" .Values.kafka.brokers }}
{{- end }}
{{- if not .Values.redis.addrSecret.name }}
{{- $_ := set $f "redis-addr" .Values.redis.addr }}
{{- end }}
{{- include "liveflow.configData" (dict "flags" (merge $f .Values.scorer.config)) }}
{{- end }}
