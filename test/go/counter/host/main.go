// A go-plugin HOST (hashicorp/go-plugin 1.0.1, Debian's) of the test type "counter": it
// starts a driver, runs every gRPC method kind against it with grpc-go's client, cancels
// streams, and prints what it got, one JSON line per check:
//
//	host [DRIVER_PATH]    (default: $COUNTER_PLUGIN)
//
// int64 values are printed as strings (JSON numbers would lose them above 2^53). With
// COUNTER_MARKER set (go-plugin passes the host's environment to the driver), the checks
// that end a stream also wait for the driver's note of how it ended and print it. The
// exit code is 1 if a check could not run (its line has "error"). go-plugin's own log
// (the driver's lines among it) goes to stderr as hclog JSON.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"time"

	counterv1 "counter/v1"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

type counterPlugin struct{ plugin.Plugin }

func (counterPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error { return nil }

func (counterPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return counterv1.NewCounterClient(c), nil
}

// result is what one check got, printed as one JSON line with its name under "check".
type result map[string]interface{}

func emit(r result) {
	line, _ := json.Marshal(r)
	fmt.Println(string(line))
}

func run() int {
	path := os.Getenv("COUNTER_PLUGIN")
	if len(os.Args) > 1 {
		path = os.Args[1]
	}
	if path == "" {
		fmt.Fprintln(os.Stderr, "counter host: usage: host DRIVER_PATH (or COUNTER_PLUGIN=DRIVER_PATH host)")
		return 2
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "counter-host", Level: hclog.Debug, JSONFormat: true, Output: os.Stderr})
	client := plugin.NewClient(&plugin.ClientConfig{
		// The values of the (driverkit.driver) option in counter.proto.
		HandshakeConfig:  plugin.HandshakeConfig{ProtocolVersion: 1, MagicCookieKey: "COUNTER_DRIVER", MagicCookieValue: "counter-5e2b"},
		Plugins:          map[string]plugin.Plugin{"counter": counterPlugin{}},
		Cmd:              exec.Command(path),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           logger,
	})
	// Every return below runs this: a driver left behind would be orphaned (nothing in
	// go-plugin notices its host died).
	defer client.Kill()
	rpc, err := client.Client()
	if err != nil {
		emit(result{"check": "start", "error": err.Error()})
		return 1
	}
	raw, err := rpc.Dispense("counter")
	if err != nil {
		emit(result{"check": "dispense", "error": err.Error()})
		return 1
	}
	c := raw.(counterv1.CounterClient)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code := 0
	for _, ch := range checks {
		r, err := ch.run(ctx, c)
		if err != nil {
			n, message := codeOf(err)
			r = result{"error": err.Error(), "code": n, "message": message}
			code = 1
		}
		r["check"] = ch.name
		emit(r)
	}
	pid := 0
	if cfg := client.ReattachConfig(); cfg != nil {
		pid = cfg.Pid
	}
	client.Kill()
	emit(result{"check": "kill", "pid": pid, "exited": client.Exited()})
	if !client.Exited() {
		code = 1
	}
	return code
}

func main() {
	os.Exit(run())
}
