module github.com/liveflow/liveflow/loadtest

go 1.26.8

require (
	github.com/HdrHistogram/hdrhistogram-go v1.4.0
	github.com/liveflow/liveflow/pkg v0.0.0
)

require (
	github.com/coder/websocket v1.8.15 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
)

replace github.com/liveflow/liveflow/pkg => ../pkg

replace github.com/liveflow/liveflow/schemas => ../schemas
