#!/bin/sh
# OUT=binary build.sh plugin|host: builds the Go peer of the test type "counter" (a
# go-plugin plugin serving it, or a go-plugin host calling it) in GOPATH mode against
# Debian's packages, with stubs from test/fixtures/protos/counter/v1/counter.proto.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
WHAT=${1:?usage: OUT=binary build.sh plugin|host}
: "${OUT:?OUT must name the binary to write}"
[ -f "$HERE/$WHAT/main.go" ] || { echo "build.sh: no $HERE/$WHAT/main.go: argument 1 must be plugin or host, got \"$WHAT\"" >&2; exit 1; }
GEN=$(mktemp -d)
trap 'rm -rf "$GEN"' EXIT
mkdir -p "$GEN/src/counter/$WHAT"
# protoc 3.21 names APIv2 paths for well-known types; Debian's protoc-gen-go 1.3 has APIv1 ones.
protoc -I "$ROOT/proto" --go_out=plugins=grpc,Mgoogle/protobuf/descriptor.proto=github.com/golang/protobuf/protoc-gen-go/descriptor:"$GEN/src" "$ROOT/proto/driverkit/options.proto"
# counter.proto names no go_package: its stubs become package counter_v1 at import path "counter/v1".
protoc -I "$ROOT/proto" -I "$ROOT/test/fixtures/protos" --go_out=plugins=grpc,paths=source_relative:"$GEN/src" "$ROOT/test/fixtures/protos/counter/v1/counter.proto"
cp "$HERE/$WHAT/"*.go "$GEN/src/counter/$WHAT/"
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac
# With OpenTelemetry's Go packages the plugin can trace (server_otel.go); without, it builds as before.
TAGS=
[ -d /usr/share/gocode/src/go.opentelemetry.io/otel/sdk ] && TAGS=otel
cd "$GEN/src/counter/$WHAT" && GO111MODULE=off GOPATH="$GEN:/usr/share/gocode" go build -tags "$TAGS" -o "$OUT" .
