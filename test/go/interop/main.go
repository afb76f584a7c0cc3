// A grpc-go client that runs gRPC's interop test cases (grpc/grpc's
// doc/interop-test-descriptions.md) against one server and prints a line per case:
// "PASS name" or "FAIL name: why". Exits 1 if any case failed.
//
//	interop -network unix -address /tmp/plugin123 [-cases empty_unary,large_unary]
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "interop/grpc_testing"
)

const (
	echoInitial  = "x-grpc-test-echo-initial"
	echoTrailing = "x-grpc-test-echo-trailing-bin"
	initialValue = "test_initial_metadata_value"
	// The description's 0xababab, as grpc-go carries -bin values: raw bytes in a string.
	trailingValue = "\xab\xab\xab"
)

type testCase struct {
	name string
	run  func(ctx context.Context, conn *grpc.ClientConn) error
}

var cases = []testCase{
	{"empty_unary", emptyUnary},
	{"large_unary", largeUnary},
	{"client_streaming", clientStreaming},
	{"server_streaming", serverStreaming},
	{"ping_pong", pingPong},
	{"empty_stream", emptyStream},
	{"cancel_after_begin", cancelAfterBegin},
	{"cancel_after_first_response", cancelAfterFirstResponse},
	{"timeout_on_sleeping_server", timeoutOnSleepingServer},
	{"custom_metadata", customMetadata},
	{"status_code_and_message", statusCodeAndMessage},
	{"special_status_message", specialStatusMessage},
	{"unimplemented_method", unimplementedMethod},
	{"unimplemented_service", unimplementedService},
}

func main() {
	network := flag.String("network", "unix", "unix or tcp")
	address := flag.String("address", "", "the server's socket path or host:port")
	only := flag.String("cases", "", "comma-separated case names (default: all)")
	flag.Parse()
	if *address == "" {
		fmt.Fprintln(os.Stderr, "usage: interop -network unix|tcp -address ADDR [-cases a,b]")
		os.Exit(2)
	}
	dialer := func(ctx context.Context, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, *network, *address)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	conn, err := grpc.DialContext(ctx, "passthrough:///interop", grpc.WithInsecure(), grpc.WithBlock(), grpc.WithContextDialer(dialer))
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot connect to %s %s: %v\n", *network, *address, err)
		os.Exit(2)
	}
	defer conn.Close()
	wanted := map[string]bool{}
	for _, name := range strings.Split(*only, ",") {
		if name != "" {
			wanted[name] = true
		}
	}
	failed := false
	for _, c := range cases {
		if len(wanted) > 0 && !wanted[c.name] {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := c.run(ctx, conn)
		cancel()
		if err != nil {
			failed = true
			fmt.Printf("FAIL %s: %v\n", c.name, err)
		} else {
			fmt.Printf("PASS %s\n", c.name)
		}
	}
	if failed {
		os.Exit(1)
	}
}

func zeros(n int) *pb.Payload {
	return &pb.Payload{Body: make([]byte, n)}
}

func params(sizes ...int32) []*pb.ResponseParameters {
	out := make([]*pb.ResponseParameters, len(sizes))
	for i, s := range sizes {
		out[i] = &pb.ResponseParameters{Size: s}
	}
	return out
}

func bodySize(p *pb.Payload) int {
	if p == nil {
		return 0
	}
	return len(p.Body)
}

// wantStatus checks that err carries code (and, unless message is nil, that message).
func wantStatus(err error, code codes.Code, message *string) error {
	s, _ := status.FromError(err)
	if s.Code() != code {
		return fmt.Errorf("expected status %v, got %v (%q)", code, s.Code(), s.Message())
	}
	if message != nil && s.Message() != *message {
		return fmt.Errorf("expected message %q, got %q", *message, s.Message())
	}
	return nil
}

func emptyUnary(ctx context.Context, conn *grpc.ClientConn) error {
	out, err := pb.NewTestServiceClient(conn).EmptyCall(ctx, &pb.Empty{})
	if err != nil {
		return err
	}
	if out == nil {
		return fmt.Errorf("nil response")
	}
	return nil
}

func largeUnary(ctx context.Context, conn *grpc.ClientConn) error {
	out, err := pb.NewTestServiceClient(conn).UnaryCall(ctx, &pb.SimpleRequest{ResponseSize: 314159, Payload: zeros(271828)})
	if err != nil {
		return err
	}
	if n := bodySize(out.Payload); n != 314159 {
		return fmt.Errorf("expected a 314159-byte payload, got %d bytes", n)
	}
	return nil
}

func clientStreaming(ctx context.Context, conn *grpc.ClientConn) error {
	stream, err := pb.NewTestServiceClient(conn).StreamingInputCall(ctx)
	if err != nil {
		return err
	}
	for _, n := range []int{27182, 8, 1828, 45904} {
		if err := stream.Send(&pb.StreamingInputCallRequest{Payload: zeros(n)}); err != nil {
			return fmt.Errorf("send: %v", err)
		}
	}
	out, err := stream.CloseAndRecv()
	if err != nil {
		return err
	}
	if out.AggregatedPayloadSize != 74922 {
		return fmt.Errorf("expected aggregated_payload_size 74922, got %d", out.AggregatedPayloadSize)
	}
	return nil
}

func serverStreaming(ctx context.Context, conn *grpc.ClientConn) error {
	sizes := []int32{31415, 9, 2653, 58979}
	stream, err := pb.NewTestServiceClient(conn).StreamingOutputCall(ctx, &pb.StreamingOutputCallRequest{ResponseParameters: params(sizes...)})
	if err != nil {
		return err
	}
	var got []int
	for {
		out, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		got = append(got, bodySize(out.Payload))
	}
	if fmt.Sprint(got) != fmt.Sprint(sizes) {
		return fmt.Errorf("expected payloads of %v bytes, got %v", sizes, got)
	}
	return nil
}

func pingPong(ctx context.Context, conn *grpc.ClientConn) error {
	stream, err := pb.NewTestServiceClient(conn).FullDuplexCall(ctx)
	if err != nil {
		return err
	}
	sizes := []int32{31415, 9, 2653, 58979}
	bodies := []int{27182, 8, 1828, 45904}
	for i, size := range sizes {
		if err := stream.Send(&pb.StreamingOutputCallRequest{ResponseParameters: params(size), Payload: zeros(bodies[i])}); err != nil {
			return fmt.Errorf("send %d: %v", i+1, err)
		}
		out, err := stream.Recv()
		if err != nil {
			return fmt.Errorf("reply %d: %v", i+1, err)
		}
		if n := bodySize(out.Payload); n != int(size) {
			return fmt.Errorf("reply %d: expected %d bytes, got %d", i+1, size, n)
		}
	}
	if err := stream.CloseSend(); err != nil {
		return err
	}
	if _, err := stream.Recv(); err != io.EOF {
		return fmt.Errorf("expected the end of the stream after four replies, got %v", err)
	}
	return nil
}

func emptyStream(ctx context.Context, conn *grpc.ClientConn) error {
	stream, err := pb.NewTestServiceClient(conn).FullDuplexCall(ctx)
	if err != nil {
		return err
	}
	if err := stream.CloseSend(); err != nil {
		return err
	}
	if _, err := stream.Recv(); err != io.EOF {
		return fmt.Errorf("expected no responses and OK, got %v", err)
	}
	return nil
}

func cancelAfterBegin(ctx context.Context, conn *grpc.ClientConn) error {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := pb.NewTestServiceClient(conn).StreamingInputCall(ctx)
	if err != nil {
		cancel()
		return err
	}
	cancel()
	_, err = stream.CloseAndRecv()
	return wantStatus(err, codes.Canceled, nil)
}

func cancelAfterFirstResponse(ctx context.Context, conn *grpc.ClientConn) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := pb.NewTestServiceClient(conn).FullDuplexCall(ctx)
	if err != nil {
		return err
	}
	if err := stream.Send(&pb.StreamingOutputCallRequest{ResponseParameters: params(31415), Payload: zeros(27182)}); err != nil {
		return fmt.Errorf("send: %v", err)
	}
	if _, err := stream.Recv(); err != nil {
		return fmt.Errorf("first response: %v", err)
	}
	cancel()
	_, err = stream.Recv()
	return wantStatus(err, codes.Canceled, nil)
}

func timeoutOnSleepingServer(ctx context.Context, conn *grpc.ClientConn) error {
	ctx, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	stream, err := pb.NewTestServiceClient(conn).FullDuplexCall(ctx)
	if err != nil {
		// The deadline may pass before the stream is even created.
		return wantStatus(err, codes.DeadlineExceeded, nil)
	}
	if err := stream.Send(&pb.StreamingOutputCallRequest{Payload: zeros(27182)}); err != nil && err != io.EOF {
		return fmt.Errorf("send: %v", err)
	}
	_, err = stream.Recv()
	return wantStatus(err, codes.DeadlineExceeded, nil)
}

func withEchoMetadata(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, echoInitial, initialValue, echoTrailing, trailingValue)
}

func checkEcho(step string, header, trailer metadata.MD) error {
	if got := header.Get(echoInitial); len(got) != 1 || got[0] != initialValue {
		return fmt.Errorf("%s: expected %s %q in the initial metadata, got %q", step, echoInitial, initialValue, got)
	}
	if got := trailer.Get(echoTrailing); len(got) != 1 || !bytes.Equal([]byte(got[0]), []byte(trailingValue)) {
		return fmt.Errorf("%s: expected %s 0xababab in the trailing metadata, got %q", step, echoTrailing, got)
	}
	return nil
}

func customMetadata(ctx context.Context, conn *grpc.ClientConn) error {
	client := pb.NewTestServiceClient(conn)
	var header, trailer metadata.MD
	out, err := client.UnaryCall(withEchoMetadata(ctx), &pb.SimpleRequest{ResponseSize: 314159, Payload: zeros(271828)}, grpc.Header(&header), grpc.Trailer(&trailer))
	if err != nil {
		return fmt.Errorf("UnaryCall: %v", err)
	}
	if n := bodySize(out.Payload); n != 314159 {
		return fmt.Errorf("UnaryCall: expected 314159 bytes, got %d", n)
	}
	if err := checkEcho("UnaryCall", header, trailer); err != nil {
		return err
	}
	stream, err := client.FullDuplexCall(withEchoMetadata(ctx))
	if err != nil {
		return err
	}
	if err := stream.Send(&pb.StreamingOutputCallRequest{ResponseParameters: params(314159), Payload: zeros(271828)}); err != nil {
		return fmt.Errorf("FullDuplexCall send: %v", err)
	}
	if _, err := stream.Recv(); err != nil {
		return fmt.Errorf("FullDuplexCall: %v", err)
	}
	streamHeader, err := stream.Header()
	if err != nil {
		return fmt.Errorf("FullDuplexCall header: %v", err)
	}
	if err := stream.CloseSend(); err != nil {
		return err
	}
	if _, err := stream.Recv(); err != io.EOF {
		return fmt.Errorf("FullDuplexCall: expected the end of the stream, got %v", err)
	}
	return checkEcho("FullDuplexCall", streamHeader, stream.Trailer())
}

func statusCodeAndMessage(ctx context.Context, conn *grpc.ClientConn) error {
	message := "test status message"
	echo := &pb.EchoStatus{Code: 2, Message: message}
	client := pb.NewTestServiceClient(conn)
	_, err := client.UnaryCall(ctx, &pb.SimpleRequest{ResponseStatus: echo})
	if err := wantStatus(err, codes.Unknown, &message); err != nil {
		return fmt.Errorf("UnaryCall: %v", err)
	}
	stream, err := client.FullDuplexCall(ctx)
	if err != nil {
		return err
	}
	if err := stream.Send(&pb.StreamingOutputCallRequest{ResponseStatus: echo}); err != nil {
		return fmt.Errorf("FullDuplexCall send: %v", err)
	}
	if err := stream.CloseSend(); err != nil {
		return err
	}
	_, err = stream.Recv()
	if err := wantStatus(err, codes.Unknown, &message); err != nil {
		return fmt.Errorf("FullDuplexCall: %v", err)
	}
	return nil
}

func specialStatusMessage(ctx context.Context, conn *grpc.ClientConn) error {
	message := "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"
	_, err := pb.NewTestServiceClient(conn).UnaryCall(ctx, &pb.SimpleRequest{ResponseStatus: &pb.EchoStatus{Code: 2, Message: message}})
	return wantStatus(err, codes.Unknown, &message)
}

func unimplementedMethod(ctx context.Context, conn *grpc.ClientConn) error {
	_, err := pb.NewTestServiceClient(conn).UnimplementedCall(ctx, &pb.Empty{})
	return wantStatus(err, codes.Unimplemented, nil)
}

func unimplementedService(ctx context.Context, conn *grpc.ClientConn) error {
	_, err := pb.NewUnimplementedServiceClient(conn).UnimplementedCall(ctx, &pb.Empty{})
	return wantStatus(err, codes.Unimplemented, nil)
}
