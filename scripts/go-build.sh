#!/bin/sh
# Builds the Go program in the current folder into "$OUT", with Go stubs generated from
# driverkit's protos (argument 1: the repo's proto folder). GOPATH mode against Debian's
# packaged Go libraries: apt-get install golang-go golang-github-hashicorp-go-plugin-dev
# golang-google-grpc-dev golang-github-hashicorp-go-hclog-dev protobuf-compiler golang-goprotobuf-dev
set -eu
PROTO=${1:?usage: OUT=binary go-build.sh PROTO_DIR}
: "${OUT:?OUT must name the binary to write}"
for tool in go protoc protoc-gen-go; do
  command -v "$tool" >/dev/null 2>&1 || { echo "go-build.sh: $tool not found (see the packages at the top of $0)" >&2; exit 1; }
done
rm -rf .gen/src/driverkit
mkdir -p .gen/src
# protoc-gen-go 1.3 wants one package per run.
for file in driverkit/userprovider/v1/userprovider.proto driverkit/audit/v1/audit.proto; do
  # protoc 3.21 names APIv2 paths for well-known types; Debian's protoc-gen-go 1.3 has APIv1 ones.
  protoc -I "$PROTO" --go_out=plugins=grpc,Mgoogle/protobuf/struct.proto=github.com/golang/protobuf/ptypes/struct:.gen/src "$PROTO/$file"
done
GO111MODULE=off GOPATH="$PWD/.gen:/usr/share/gocode" go build -o "$OUT" .
