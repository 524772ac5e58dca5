// Package webe2e tests the browser app against a running stack: a private
// redis-server and edge processes, events written into the shard streams as
// the scorer writes them, and Debian's Chromium driven by playwright-core
// (web/e2e). The Go side starts and restarts the services and writes events
// when the browser tests ask it to, over a small HTTP control API on the
// loopback interface.
package webe2e
