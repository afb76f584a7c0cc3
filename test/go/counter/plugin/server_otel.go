//go:build otel

// With OpenTelemetry's Go packages (Debian's golang-opentelemetry-otel-dev, build tag otel)
// and COUNTER_TRACE_FILE set: a server span per call, child of the caller's W3C traceparent,
// written as JSON lines to that file. What otelgrpc does, by hand (otelgrpc is not packaged).
package main

import (
	"context"
	"os"
	"strings"

	"github.com/hashicorp/go-plugin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func grpcServer(opts []grpc.ServerOption) *grpc.Server {
	path := os.Getenv("COUNTER_TRACE_FILE")
	if path == "" {
		return plugin.DefaultGRPCServer(opts)
	}
	file, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		panic(err)
	}
	exporter, err := stdouttrace.New(stdouttrace.WithWriter(file))
	if err != nil {
		panic(err)
	}
	tracer := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter)).Tracer("counter-go")
	start := func(ctx context.Context, method string) (context.Context, trace.Span) {
		md, _ := metadata.FromIncomingContext(ctx)
		carrier := propagation.HeaderCarrier{}
		for _, key := range []string{"traceparent", "tracestate"} {
			if v := md.Get(key); len(v) > 0 {
				carrier.Set(key, v[0])
			}
		}
		parent := propagation.TraceContext{}.Extract(ctx, carrier)
		return tracer.Start(parent, strings.TrimPrefix(method, "/"), trace.WithSpanKind(trace.SpanKindServer))
	}
	end := func(span trace.Span, err error) {
		span.SetAttributes(attribute.Int64("rpc.grpc.status_code", int64(status.Code(err))))
		span.End()
	}
	unary := func(ctx context.Context, req interface{}, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (interface{}, error) {
		ctx, span := start(ctx, info.FullMethod)
		resp, err := handler(ctx, req)
		end(span, err)
		return resp, err
	}
	stream := func(srv interface{}, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		_, span := start(ss.Context(), info.FullMethod)
		err := handler(srv, ss)
		end(span, err)
		return err
	}
	return plugin.DefaultGRPCServer(append(opts, grpc.UnaryInterceptor(unary), grpc.StreamInterceptor(stream)))
}
