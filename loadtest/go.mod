module github.com/liveflow/liveflow/loadtest

go 1.26.8
