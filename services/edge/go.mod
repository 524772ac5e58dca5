module github.com/liveflow/liveflow/services/edge

go 1.26.8
