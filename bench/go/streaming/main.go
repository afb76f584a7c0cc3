// The Go side of the bench row "streaming": go-plugin's own host and plugin (Debian's
// go-plugin 1.0.1) over the test type "counter". One binary: run with the type's cookie in
// its environment it is the plugin; otherwise it is the host, which spawns itself as the
// plugin and then takes commands on stdin, one JSON line out for each, so that the row can
// interleave its rounds with driverkit's:
//
//	count N SIZE   one Count of N ticks of SIZE bytes      -> {"rate": msgs per second}
//	ping K         K ping-pongs of 100 B on one Echo stream -> {"ms": [each round trip]}
//
// EOF on stdin ends the plugin and the host.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	counterv1 "counter/v1"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// The values of counter.proto's (driverkit.driver) option.
var handshake = plugin.HandshakeConfig{ProtocolVersion: 1, MagicCookieKey: "COUNTER_DRIVER", MagicCookieValue: "counter-5e2b"}

type counterServer struct {
	counterv1.UnimplementedCounterServer
}

func (counterServer) Count(req *counterv1.CountRequest, stream counterv1.Counter_CountServer) error {
	payload := make([]byte, req.Size)
	for i := range payload {
		payload[i] = 'x'
	}
	for i := uint32(0); i < req.N; i++ {
		if err := stream.Send(&counterv1.Tick{I: i, Payload: payload}); err != nil {
			return err
		}
	}
	return nil
}

func (counterServer) Echo(stream counterv1.Counter_EchoServer) error {
	for {
		tick, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(tick); err != nil {
			return err
		}
	}
}

type counterPlugin struct{ plugin.Plugin }

func (counterPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	counterv1.RegisterCounterServer(s, &counterServer{})
	return nil
}

func (counterPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return counterv1.NewCounterClient(c), nil
}

var plugins = map[string]plugin.Plugin{"counter": counterPlugin{}}

// cleanup ends the plugin before an early exit: os.Exit skips deferred calls.
var cleanup = func() {}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "gostreaming: "+format+"\n", args...)
	cleanup()
	os.Exit(1)
}

func main() {
	if os.Getenv(handshake.MagicCookieKey) == handshake.MagicCookieValue {
		plugin.Serve(&plugin.ServeConfig{HandshakeConfig: handshake, Plugins: plugins, GRPCServer: plugin.DefaultGRPCServer})
		return
	}
	self, err := os.Executable()
	if err != nil {
		fail("executable: %v", err)
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  handshake,
		Plugins:          plugins,
		Cmd:              exec.Command(self),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           hclog.New(&hclog.LoggerOptions{Name: "gostreaming", Level: hclog.Error, Output: os.Stderr}),
	})
	cleanup = client.Kill
	defer client.Kill()
	rpc, err := client.Client()
	if err != nil {
		fail("start: %v", err)
	}
	raw, err := rpc.Dispense("counter")
	if err != nil {
		fail("dispense: %v", err)
	}
	counter := raw.(counterv1.CounterClient)
	ctx := context.Background()
	echo, err := counter.Echo(ctx)
	if err != nil {
		fail("Echo: %v", err)
	}
	tick := &counterv1.Tick{Payload: make([]byte, 100)}
	out := json.NewEncoder(os.Stdout)
	out.Encode(map[string]string{"ready": "ok"})
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var n, size int
		if _, err := fmt.Sscanf(in.Text(), "count %d %d", &n, &size); err == nil {
			out.Encode(map[string]float64{"rate": count(ctx, counter, n, size)})
		} else if _, err := fmt.Sscanf(in.Text(), "ping %d", &n); err == nil {
			out.Encode(map[string][]float64{"ms": ping(echo, tick, n)})
		} else {
			fail("command not understood: expected \"count N SIZE\" or \"ping K\", got %q", in.Text())
		}
	}
	echo.CloseSend()
}

func count(ctx context.Context, counter counterv1.CounterClient, n, size int) float64 {
	start := time.Now()
	stream, err := counter.Count(ctx, &counterv1.CountRequest{N: uint32(n), Size: uint32(size)})
	if err != nil {
		fail("Count: %v", err)
	}
	got := 0
	for {
		if _, err := stream.Recv(); err == io.EOF {
			break
		} else if err != nil {
			fail("Count: %v", err)
		}
		got++
	}
	if got != n {
		fail("Count(%d) streamed %d ticks", n, got)
	}
	return float64(n) / time.Since(start).Seconds()
}

func ping(echo counterv1.Counter_EchoClient, tick *counterv1.Tick, k int) []float64 {
	ms := make([]float64, 0, k)
	for i := 0; i < k; i++ {
		t := time.Now()
		if err := echo.Send(tick); err != nil {
			fail("Echo send: %v", err)
		}
		if _, err := echo.Recv(); err != nil {
			fail("Echo receive: %v", err)
		}
		ms = append(ms, float64(time.Since(t).Nanoseconds())/1e6)
	}
	return ms
}
