module github.com/liveflow/liveflow/schemas

go 1.26.8
