// Command kafkafake runs franz-go's in-process Kafka, kfake, as a process of
// its own with its data on disk, so that a test can kill it (SIGKILL) at any
// moment and start it again on the same port and data, as it would a real
// broker. It prints "kafkafake: ready on ADDR" once it listens and runs until
// SIGINT or SIGTERM.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	port := flag.Int("port", 9092, "port to listen on (127.0.0.1)")
	dir := flag.String("data-dir", "", "directory of the cluster's data; a restart with the same one keeps topics, records and group offsets")
	sync := flag.Bool("sync-writes", false, "fsync every batch, so not even a machine crash loses an acknowledged record")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "kafkafake: -data-dir is required")
		os.Exit(2)
	}
	opts := []kfake.Opt{
		kfake.Ports(*port),
		kfake.NumBrokers(1),
		kfake.DataDir(*dir),
		kfake.AllowAutoTopicCreation(),
	}
	if *sync {
		opts = append(opts, kfake.SyncWrites())
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kafkafake: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("kafkafake: ready on %s\n", c.ListenAddrs()[0])
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	c.Close()
}
