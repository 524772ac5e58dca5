package record

import (
	"context"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/sr/srfake"
)

func TestRegistryFraming(t *testing.T) {
	reg := srfake.New()
	defer reg.Close()
	r, err := NewRegistry(reg.URL())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	c, err := NewCodec[point](pointSchema)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.UseRegistry(ctx, r, Subject("points")); err != nil {
		t.Fatal(err)
	}
	id, ok := c.RegistryID()
	if !ok || id <= 0 {
		t.Fatalf("RegistryID = %d, %v after UseRegistry", id, ok)
	}
	// Registering the same schema again finds the same id.
	if again, err := r.Register(ctx, Subject("points"), pointSchema); err != nil || again != id {
		t.Errorf("second Register = %d, %v; want %d", again, err, id)
	}
	// The newest version of the subject is this one.
	if text, version, err := r.Latest(ctx, Subject("points")); err != nil || text == "" || version != 1 {
		t.Errorf("Latest = %q, version %d, %v; want the schema as version 1", text, version, err)
	}
	// The registry hands the schema back by id.
	if text, err := r.Schema(ctx, id); err != nil || text == "" {
		t.Errorf("Schema(%d) = %q, %v", id, text, err)
	}

	in := point{X: 7, Label: "seven"}
	b, err := c.Encode(&in)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := RegistryIDOf(b); !ok || got != id || b[0] != 0 {
		t.Fatalf("record header % x does not carry magic 0 and id %d", b[:5], id)
	}
	var out point
	if err := c.Decode(b, &out); err != nil || out != in {
		t.Fatalf("Decode = %+v, %v; want %+v", out, err, in)
	}

	// A codec without the registry refuses the framing, and says why; so
	// does one expecting another id. Single-object records still decode.
	plain, err := NewCodec[point](pointSchema)
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.Decode(b, &out); !errors.Is(err, ErrSchema) {
		t.Errorf("plain codec on a registry record: %v; want ErrSchema", err)
	}
	other, _ := NewCodec[point](pointSchema)
	other.UseRegistryID(id + 1)
	if err := other.Decode(b, &out); !errors.Is(err, ErrSchema) {
		t.Errorf("codec of another id: %v; want ErrSchema", err)
	}
	soe, err := plain.Encode(&in)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Decode(soe, &out); err != nil || out != in {
		t.Errorf("registry codec on a single-object record = %+v, %v", out, err)
	}
	// A truncated registry record is an error, not a zero value.
	if err := c.Decode(b[:len(b)-2], &out); err == nil {
		t.Error("truncated registry record decoded")
	}
}

func TestRegistryUnreachable(t *testing.T) {
	r, err := NewRegistry("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := NewCodec[point](pointSchema)
	if err := c.UseRegistry(context.Background(), r, "x-value"); err == nil {
		t.Fatal("UseRegistry without a registry succeeded")
	}
	if _, ok := c.RegistryID(); ok {
		t.Error("codec switched to registry framing after a failed registration")
	}
}
