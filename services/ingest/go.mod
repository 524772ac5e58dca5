module github.com/liveflow/liveflow/services/ingest

go 1.26.8
