package localredis

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"testing"
)

// A port someone else holds is reported as taken, which is what makes Start
// choose its ports again.
func TestTakenPortIsRecognised(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal(ErrNotInstalled)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port

	s, err := Start(context.Background(), Options{Port: port})
	if err == nil {
		s.Stop()
		t.Fatalf("redis-server started on port %d, which a listener holds", port)
	}
	if !errors.Is(err, errPortTaken) {
		t.Errorf("start on a taken port: %v; want it recognised as a taken port", err)
	}
}
