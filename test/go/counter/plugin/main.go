// A go-plugin (hashicorp/go-plugin 1.0.1, Debian's) driver of the test type "counter",
// doing what test/fixtures/counter-driver.ts does, so that driverkit's host meets every
// gRPC method kind served by grpc-go. COUNTER_MARKER names a file where it notes its
// progress and how each stream ended ("produced N", "cancelled after N", "ended after N",
// "echo cancelled", "echo ended"), for tests to watch.
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/ioutil"
	"os"
	"strconv"

	counterv1 "counter/v1"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func note(format string, args ...interface{}) {
	if marker := os.Getenv("COUNTER_MARKER"); marker != "" {
		// Written whole each time, as the TS driver does: the file holds the latest note.
		_ = ioutil.WriteFile(marker, []byte(fmt.Sprintf(format, args...)), 0o644)
	}
}

type counter struct{}

func (counter) Add(_ context.Context, req *counterv1.AddRequest) (*counterv1.AddResponse, error) {
	return &counterv1.AddResponse{Total: req.Value, Count: 1}, nil
}

func (counter) Count(req *counterv1.CountRequest, stream counterv1.Counter_CountServer) error {
	ctx := stream.Context()
	payload := bytes.Repeat([]byte{'x'}, int(req.Size))
	var i uint32
	for ; req.N == 0 || i < req.N; i++ {
		// The host cancelling (or its deadline passing) closes ctx.Done(); Send would also
		// fail then, but a driver should stop producing because it noticed, not by accident.
		select {
		case <-ctx.Done():
			note("cancelled after %d", i)
			return status.FromContextError(ctx.Err()).Err()
		default:
		}
		note("produced %d", i+1)
		if err := stream.Send(&counterv1.Tick{I: i, Payload: payload}); err != nil {
			if ctx.Err() != nil {
				note("cancelled after %d", i)
			} else {
				note("failed after %d: %v", i, err)
			}
			return err
		}
	}
	note("ended after %d", i)
	if req.FailCode != 0 {
		return status.Error(codes.Code(req.FailCode), req.FailMessage)
	}
	return nil
}

func (counter) Sum(stream counterv1.Counter_SumServer) error {
	// A driver that has heard enough answers early; the host stops sending.
	stopAfter := int64(-1)
	if md, ok := metadata.FromIncomingContext(stream.Context()); ok {
		if v := md.Get("x-stop-after"); len(v) > 0 {
			stopAfter, _ = strconv.ParseInt(v[0], 10, 64)
		}
	}
	var total int64
	var count uint64
	for int64(count) != stopAfter {
		req, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		total += req.Value
		count++
	}
	return stream.SendAndClose(&counterv1.AddResponse{Total: total, Count: count})
}

func (counter) Echo(stream counterv1.Counter_EchoServer) error {
	for {
		tick, err := stream.Recv()
		if err == io.EOF {
			note("echo ended")
			return nil
		}
		if err == nil {
			err = stream.Send(tick)
		}
		if err != nil {
			if stream.Context().Err() != nil {
				note("echo cancelled")
			} else {
				note("echo failed: %v", err)
			}
			return err
		}
	}
}

// counterPlugin registers the Counter server on go-plugin's gRPC server.
type counterPlugin struct{ plugin.Plugin }

func (counterPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	counterv1.RegisterCounterServer(s, counter{})
	return nil
}

func (counterPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (interface{}, error) {
	return nil, fmt.Errorf("counter plugin: this binary only serves")
}

func main() {
	plugin.Serve(&plugin.ServeConfig{
		// The values of the (driverkit.driver) option in counter.proto.
		HandshakeConfig: plugin.HandshakeConfig{ProtocolVersion: 1, MagicCookieKey: "COUNTER_DRIVER", MagicCookieValue: "counter-5e2b"},
		Plugins:         map[string]plugin.Plugin{"counter": counterPlugin{}},
		GRPCServer:      grpcServer,
	})
}
