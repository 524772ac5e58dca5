module github.com/liveflow/liveflow/tools

go 1.26.8
