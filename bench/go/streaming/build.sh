#!/bin/sh
# OUT=binary build.sh: builds main.go (go-plugin host and plugin of the test type "counter")
# in GOPATH mode against Debian's packages, with stubs from the type's counter.proto.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
: "${OUT:?OUT must name the binary to write}"
GEN=$(mktemp -d)
trap 'rm -rf "$GEN"' EXIT
mkdir -p "$GEN/src/gostreaming"
# protoc 3.21 names APIv2 paths for well-known types; Debian's protoc-gen-go 1.3 has APIv1 ones.
protoc -I "$ROOT/proto" --go_out=plugins=grpc,Mgoogle/protobuf/descriptor.proto=github.com/golang/protobuf/protoc-gen-go/descriptor:"$GEN/src" "$ROOT/proto/driverkit/options.proto"
# counter.proto names no go_package: its stubs become package counter_v1 at import path "counter/v1".
protoc -I "$ROOT/proto" -I "$ROOT/test/fixtures/protos" --go_out=plugins=grpc,paths=source_relative:"$GEN/src" "$ROOT/test/fixtures/protos/counter/v1/counter.proto"
cp "$HERE/main.go" "$GEN/src/gostreaming/"
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac
cd "$GEN/src/gostreaming" && GO111MODULE=off GOPATH="$GEN:/usr/share/gocode" go build -o "$OUT" .
