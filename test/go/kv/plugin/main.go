// The example's plugin-go-grpc: a KV store in files named kv_<key> in its working folder.
package main

import (
	"fmt"
	"io/ioutil"

	"github.com/hashicorp/go-plugin"

	"kv/shared"
)

type KV struct{}

func (KV) Put(key string, value []byte) error {
	value = []byte(fmt.Sprintf("%s\n\nWritten from plugin-go-grpc", string(value)))
	return ioutil.WriteFile("kv_"+key, value, 0644)
}

func (KV) Get(key string) ([]byte, error) {
	return ioutil.ReadFile("kv_" + key)
}

func main() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: shared.Handshake,
		Plugins: map[string]plugin.Plugin{
			"kv": &shared.KVGRPCPlugin{Impl: &KV{}},
		},
		GRPCServer: plugin.DefaultGRPCServer,
	})
}
