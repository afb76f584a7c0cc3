// A go-plugin HOST (hashicorp/go-plugin 1.0.1, Debian's) that loads a driverkit driver:
// handshake, Ping, GetUser, Kill. Used by test/go-host.test.ts and the benchmark.
//
//	host [-automtls] [-calls N] DRIVER_PATH COOKIE_KEY COOKIE_VALUE
//	host -reattach HOST:PORT -pid PID
//
// With -reattach it runs nothing: go-plugin's client attaches to a gRPC server running at
// that address (driverkit serve, say) as to a plugin it started earlier, pings, calls
// GetUser and closes its client (which sends GRPCController.Shutdown), never Kill: a
// reattached client's Kill ends process PID.
//
// It prints one JSON line on stdout; go-plugin's own log (the driver's lines among it)
// goes to stderr as hclog JSON.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sort"
	"time"

	userproviderv1 "driverkit/gen/userprovider/v1"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

type userProviderPlugin struct{ plugin.Plugin }

func (userProviderPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error { return nil }

func (userProviderPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return userproviderv1.NewUserProviderClient(c), nil
}

// cleanup ends the driver before an early exit: os.Exit skips deferred calls, and a Go
// driver left behind would be orphaned (nothing in go-plugin notices its host died).
var cleanup = func() {}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "gohost: "+format+"\n", args...)
	cleanup()
	os.Exit(1)
}

func main() {
	autoMTLS := flag.Bool("automtls", false, "use go-plugin AutoMTLS")
	calls := flag.Int("calls", 0, "for benchmarks: time this many sequential GetUser calls")
	reattach := flag.String("reattach", "", "attach to a gRPC server at HOST:PORT instead")
	watched := flag.Int("pid", 0, "with -reattach: the pid go-plugin watches")
	flag.Parse()
	if *reattach != "" {
		attach(*reattach, *watched)
		return
	}
	if flag.NArg() != 3 {
		fail("usage: host [-automtls] DRIVER_PATH COOKIE_KEY COOKIE_VALUE")
	}
	begin := time.Now()
	logger := hclog.New(&hclog.LoggerOptions{Name: "gohost", Level: hclog.Trace, JSONFormat: true, Output: os.Stderr})
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  plugin.HandshakeConfig{ProtocolVersion: 1, MagicCookieKey: flag.Arg(1), MagicCookieValue: flag.Arg(2)},
		Plugins:          map[string]plugin.Plugin{"userprovider": userProviderPlugin{}},
		Cmd:              exec.Command(flag.Arg(0)),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           logger,
		AutoMTLS:         *autoMTLS,
	})
	cleanup = client.Kill
	defer client.Kill()
	_, users := connect(client, "start")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := users.GetUser(ctx, &userproviderv1.GetUserRequest{UserId: &userproviderv1.UserId{OpaqueId: "4c510ada-c86b-4815-8820-42cdf82c3d51"}})
	if err != nil {
		fail("GetUser: %v", err)
	}
	startMs := float64(time.Since(begin).Microseconds()) / 1000
	var lat []float64
	for i := 0; i < *calls; i++ {
		t := time.Now()
		if _, err := users.GetUser(ctx, &userproviderv1.GetUserRequest{UserId: &userproviderv1.UserId{OpaqueId: "4c510ada-c86b-4815-8820-42cdf82c3d51"}}); err != nil {
			fail("GetUser #%d: %v", i, err)
		}
		lat = append(lat, float64(time.Since(t).Microseconds())/1000)
	}
	sort.Float64s(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return lat[int(p*float64(len(lat)-1))]
	}
	pid := 0
	if cfg := client.ReattachConfig(); cfg != nil {
		pid = cfg.Pid
	}
	start := time.Now()
	client.Kill()
	out, _ := json.Marshal(map[string]interface{}{
		"ping":     "ok",
		"version":  client.NegotiatedVersion(),
		"username": res.GetUser().GetUsername(),
		"kill_ms":  time.Since(start).Milliseconds(),
		"exited":   client.Exited(),
		"pid":      pid,
		"start_ms": startMs,
		"p50_ms":   pct(0.5),
		"p99_ms":   pct(0.99),
	})
	fmt.Println(string(out))
}

// connect makes go-plugin's connection (`what` names that step in a failure), pings it, and
// dispenses the UserProvider client.
func connect(client *plugin.Client, what string) (plugin.ClientProtocol, userproviderv1.UserProviderClient) {
	rpc, err := client.Client()
	if err != nil {
		fail("%s: %v", what, err)
	}
	if err := rpc.Ping(); err != nil {
		fail("ping: %v", err)
	}
	raw, err := rpc.Dispense("userprovider")
	if err != nil {
		fail("dispense: %v", err)
	}
	return rpc, raw.(userproviderv1.UserProviderClient)
}

// attach is -reattach: go-plugin's client on a server it did not start.
func attach(address string, pid int) {
	addr, err := net.ResolveTCPAddr("tcp", address)
	if err != nil {
		fail("address: %v", err)
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "gohost", Level: hclog.Trace, JSONFormat: true, Output: os.Stderr})
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  plugin.HandshakeConfig{ProtocolVersion: 1},
		Plugins:          map[string]plugin.Plugin{"userprovider": userProviderPlugin{}},
		Reattach:         &plugin.ReattachConfig{Protocol: plugin.ProtocolGRPC, Addr: addr, Pid: pid},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           logger,
	})
	rpc, users := connect(client, "attach")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := users.GetUser(ctx, &userproviderv1.GetUserRequest{UserId: &userproviderv1.UserId{OpaqueId: "4c510ada-c86b-4815-8820-42cdf82c3d51"}})
	if err != nil {
		fail("GetUser: %v", err)
	}
	found, err := users.FindUsers(ctx, &userproviderv1.FindUsersRequest{Query: "e"})
	if err != nil {
		fail("FindUsers: %v", err)
	}
	closeErr := rpc.Close()
	out, _ := json.Marshal(map[string]interface{}{
		"ping":     "ok",
		"username": res.GetUser().GetUsername(),
		"found":    len(found.GetUsers()),
		"closed":   closeErr == nil,
	})
	fmt.Println(string(out))
}
