module github.com/liveflow/liveflow/services/scorer

go 1.26.8
