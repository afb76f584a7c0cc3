// A go-plugin driver of the test type "interop" in Go: the unary and full-duplex calls of
// gRPC's TestService on grpc-go's server, for the load matrix (test/load-matrix.test.ts)
// to run against a real grpc-go peer. Payloads are zeros of the asked size, as the interop
// descriptions say.
package main

import (
	"context"
	"io"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pb "interop/grpc_testing"
)

type testServer struct{}

func payload(size int32) *pb.Payload {
	return &pb.Payload{Body: make([]byte, size)}
}

func (testServer) EmptyCall(context.Context, *pb.Empty) (*pb.Empty, error) {
	return &pb.Empty{}, nil
}

func (testServer) UnaryCall(_ context.Context, in *pb.SimpleRequest) (*pb.SimpleResponse, error) {
	return &pb.SimpleResponse{Payload: payload(in.ResponseSize)}, nil
}

func (testServer) FullDuplexCall(stream pb.TestService_FullDuplexCallServer) error {
	for {
		in, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		for _, p := range in.ResponseParameters {
			if err := stream.Send(&pb.StreamingOutputCallResponse{Payload: payload(p.Size)}); err != nil {
				return err
			}
		}
	}
}

func (testServer) StreamingOutputCall(*pb.StreamingOutputCallRequest, pb.TestService_StreamingOutputCallServer) error {
	return nil
}

func (testServer) StreamingInputCall(pb.TestService_StreamingInputCallServer) error {
	return nil
}

func (testServer) HalfDuplexCall(pb.TestService_HalfDuplexCallServer) error {
	return nil
}

func (testServer) UnimplementedCall(context.Context, *pb.Empty) (*pb.Empty, error) {
	return &pb.Empty{}, nil
}

type interopPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

func (interopPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterTestServiceServer(s, testServer{})
	return nil
}

func (interopPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (interface{}, error) {
	return nil, nil
}

func main() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: plugin.HandshakeConfig{
			ProtocolVersion:  1,
			MagicCookieKey:   "INTEROP_DRIVER",
			MagicCookieValue: "interop-3f9a",
		},
		Plugins:    map[string]plugin.Plugin{"interop": interopPlugin{}},
		GRPCServer: plugin.DefaultGRPCServer,
	})
}
