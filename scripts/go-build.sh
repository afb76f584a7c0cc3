#!/bin/sh
# Builds the Go program in the current folder into "$OUT", with Go stubs generated from
# driverkit's protos (argument 1: the repo's proto folder). GOPATH mode against Debian's
# packaged Go libraries: apt-get install golang-go golang-github-hashicorp-go-plugin-dev
# golang-google-grpc-dev golang-github-hashicorp-go-hclog-dev protobuf-compiler golang-goprotobuf-dev
set -eu
PROTO=${1:?usage: OUT=binary go-build.sh PROTO_DIR}
: "${OUT:?OUT must name the binary to write}"
[ -d "$PROTO/driverkit" ] || { echo "go-build.sh: $PROTO/driverkit not found: argument 1 must be the repo's proto folder (from $PWD)" >&2; exit 1; }
missing() { echo "go-build.sh: $1 not found: apt-get install $2" >&2; exit 1; }
command -v go >/dev/null 2>&1 || missing go golang-go
command -v protoc >/dev/null 2>&1 || missing protoc protobuf-compiler
command -v protoc-gen-go >/dev/null 2>&1 || missing protoc-gen-go golang-goprotobuf-dev
for lib in github.com/hashicorp/go-plugin:golang-github-hashicorp-go-plugin-dev \
  github.com/hashicorp/go-hclog:golang-github-hashicorp-go-hclog-dev \
  google.golang.org/grpc:golang-google-grpc-dev \
  github.com/golang/protobuf/ptypes/struct:golang-goprotobuf-dev; do
  [ -d "/usr/share/gocode/src/${lib%%:*}" ] || missing "Go package ${lib%%:*} (in /usr/share/gocode/src)" "${lib#*:}"
done
# The stubs go to a GOPATH of this build's own: two builds of one folder at once (two hosts,
# two test files) must not delete each other's.
GEN=$(mktemp -d "${TMPDIR:-/tmp}/driverkit-go-gen.XXXXXX")
trap 'rm -rf "$GEN"' EXIT
mkdir -p "$GEN/src"
# protoc-gen-go 1.3 wants one package per run.
for file in driverkit/options.proto driverkit/userprovider/v1/userprovider.proto driverkit/audit/v1/audit.proto; do
  # protoc 3.21 names APIv2 paths for well-known types; Debian's protoc-gen-go 1.3 has APIv1 ones.
  protoc -I "$PROTO" --go_out=plugins=grpc,Mgoogle/protobuf/struct.proto=github.com/golang/protobuf/ptypes/struct,Mgoogle/protobuf/descriptor.proto=github.com/golang/protobuf/protoc-gen-go/descriptor:"$GEN/src" "$PROTO/$file"
done
# -trimpath: neither this folder nor the temp GOPATH ends up in the binary.
GO111MODULE=off GOPATH="$GEN:/usr/share/gocode" go build -trimpath -o "$OUT" .
