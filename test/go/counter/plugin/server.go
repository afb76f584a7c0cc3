//go:build !otel

package main

import "github.com/hashicorp/go-plugin"

// Without OpenTelemetry's Go packages (build tag otel): go-plugin's server, untraced.
var grpcServer = plugin.DefaultGRPCServer
