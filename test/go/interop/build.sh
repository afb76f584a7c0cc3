#!/bin/sh
# OUT=binary build.sh [client|server]: builds the Go interop client (main.go), or the
# go-plugin driver that serves TestService (server/main.go), in GOPATH mode against Debian's grpc-go,
# with stubs generated from test/fixtures/protos/grpc/testing (and driverkit's options.proto,
# which test.proto imports for its (driverkit.driver) option).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
: "${OUT:?OUT must name the binary to write}"
GEN=$(mktemp -d)
trap 'rm -rf "$GEN"' EXIT
WHAT=${1:-client}
mkdir -p "$GEN/src/interop/$WHAT"
# One package per protoc run: protoc-gen-go 1.3 writes each to its go_package below GEN/src.
protoc -I "$ROOT/test/fixtures/protos" -I "$ROOT/proto" --go_out=plugins=grpc:"$GEN/src" \
  "$ROOT/test/fixtures/protos/grpc/testing/empty.proto" \
  "$ROOT/test/fixtures/protos/grpc/testing/messages.proto" \
  "$ROOT/test/fixtures/protos/grpc/testing/test.proto"
# protoc's descriptor.proto names the newer protobuf module; Debian's golang-protobuf 1.3 has it here.
protoc -I "$ROOT/proto" --go_out=Mgoogle/protobuf/descriptor.proto=github.com/golang/protobuf/protoc-gen-go/descriptor:"$GEN/src" "$ROOT/proto/driverkit/options.proto"
if [ "$WHAT" = server ]; then cp "$HERE/server/main.go" "$GEN/src/interop/server/"; else cp "$HERE/main.go" "$GEN/src/interop/client/"; fi
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac
cd "$GEN/src/interop/$WHAT" && GO111MODULE=off GOPATH="$GEN:/usr/share/gocode" go build -o "$OUT" .
