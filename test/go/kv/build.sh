#!/bin/sh
# OUT=binary build.sh plugin|host: builds go-plugin's gRPC KV example (its plugin or its
# host) in GOPATH mode against Debian's packages, with stubs from proto/kv.proto.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
WHAT=${1:?usage: OUT=binary build.sh plugin|host}
: "${OUT:?OUT must name the binary to write}"
GEN=$(mktemp -d)
trap 'rm -rf "$GEN"' EXIT
mkdir -p "$GEN/src/kv/proto" "$GEN/src/kv/$WHAT"
protoc -I "$HERE/proto" --go_out=plugins=grpc,paths=source_relative:"$GEN/src/kv/proto" "$HERE/proto/kv.proto"
cp -r "$HERE/shared" "$GEN/src/kv/shared"
cp "$HERE/$WHAT/main.go" "$GEN/src/kv/$WHAT/"
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac
cd "$GEN/src/kv/$WHAT" && GO111MODULE=off GOPATH="$GEN:/usr/share/gocode" go build -o "$OUT" .
