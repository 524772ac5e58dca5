// Package charttest tests the deployment of liveflow without a cluster: the
// service images (services/*/Dockerfile) and the Helm chart (helm/liveflow).
//
// The tests render the chart through the Helm Go module as `helm lint` and
// `helm template` would, decode every manifest strictly into the official
// Kubernetes API types, and check what a cluster would only show at run
// time: that probes, selectors, ports, mounts and settings fit the services.
// The settings are checked against the flags the services really have: the
// tests build each service from its Dockerfile's build context and ask the
// binary for its flags.
package charttest
