// The checks the host runs, in order: every method kind, then the cancellations. Each
// returns what it got, for one JSON line; an error means the check could not run.

package main

import (
	"context"
	"fmt"
	"io"
	"io/ioutil"
	"os"
	"regexp"
	"strconv"
	"time"

	counterv1 "counter/v1"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// big is 2^60 + 1: a float64 would round it.
const big int64 = 1152921504606846977

// failMessage is sent back in a status: non-ASCII and a "%", which grpc-message percent-encodes.
const failMessage = "ünïcödé 100% ✓ done"

// codeOf is the gRPC code of err as a number (0 for nil), with its message.
func codeOf(err error) (int, string) {
	s, _ := status.FromError(err)
	return int(s.Code()), s.Message()
}

// marker is the file the driver notes how its streams ended in ("" without COUNTER_MARKER).
var marker = os.Getenv("COUNTER_MARKER")

// clearMarker removes the last note, so that waitMarker cannot match one from an earlier check.
func clearMarker() {
	if marker != "" {
		_ = os.Remove(marker)
	}
}

// waitMarker polls the marker file until it matches pattern or 10 s pass (no fixed
// sleep: the driver notes asynchronously, after its stream ended), and returns the
// last thing it read.
func waitMarker(pattern string) string {
	if marker == "" {
		return ""
	}
	re := regexp.MustCompile(pattern)
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := ioutil.ReadFile(marker)
		if re.Match(b) || time.Now().After(deadline) {
			return string(b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type check struct {
	name string
	run  func(ctx context.Context, c counterv1.CounterClient) (result, error)
}

var checks = []check{
	{"add", func(ctx context.Context, c counterv1.CounterClient) (result, error) {
		res, err := c.Add(ctx, &counterv1.AddRequest{Value: big})
		if err != nil {
			return nil, err
		}
		return result{"total": strconv.FormatInt(res.Total, 10), "count": strconv.FormatUint(res.Count, 10)}, nil
	}},
	{"count", func(ctx context.Context, c counterv1.CounterClient) (result, error) {
		stream, err := c.Count(ctx, &counterv1.CountRequest{N: 3, Size: 4})
		if err != nil {
			return nil, err
		}
		ticks, payloads := []uint32{}, []string{}
		for {
			t, err := stream.Recv()
			if err == io.EOF {
				return result{"ticks": ticks, "payloads": payloads}, nil
			}
			if err != nil {
				return nil, err
			}
			ticks = append(ticks, t.I)
			payloads = append(payloads, string(t.Payload))
		}
	}},
	{"count-status", func(ctx context.Context, c counterv1.CounterClient) (result, error) {
		stream, err := c.Count(ctx, &counterv1.CountRequest{N: 2, FailCode: 9, FailMessage: failMessage})
		if err != nil {
			return nil, err
		}
		ticks := []uint32{}
		for {
			t, err := stream.Recv()
			if err != nil {
				code, message := codeOf(err)
				return result{"ticks": ticks, "code": code, "message": message}, nil
			}
			ticks = append(ticks, t.I)
		}
	}},
	{"sum", func(ctx context.Context, c counterv1.CounterClient) (result, error) {
		stream, err := c.Sum(ctx)
		if err != nil {
			return nil, err
		}
		for _, v := range []int64{big, -1, 2} {
			if err := stream.Send(&counterv1.AddRequest{Value: v}); err != nil {
				return nil, err
			}
		}
		res, err := stream.CloseAndRecv()
		if err != nil {
			return nil, err
		}
		return result{"total": strconv.FormatInt(res.Total, 10), "count": strconv.FormatUint(res.Count, 10)}, nil
	}},
	{"sum-early", func(ctx context.Context, c counterv1.CounterClient) (result, error) {
		// The driver answers after 3 values; grpc-go's Send then returns io.EOF and
		// CloseAndRecv gives the answer. Bounded in time, in case the answer never ends
		// the stream: a count bound was reached before the answer on a busy machine.
		stream, err := c.Sum(metadata.AppendToOutgoingContext(ctx, "x-stop-after", "3"))
		if err != nil {
			return nil, err
		}
		sent, sendErr := 0, "none"
		for until := time.Now().Add(10 * time.Second); time.Now().Before(until); sent++ {
			if err := stream.Send(&counterv1.AddRequest{Value: 1}); err != nil {
				sendErr = err.Error()
				break
			}
		}
		res, err := stream.CloseAndRecv()
		if err != nil {
			code, message := codeOf(err)
			return result{"sent": sent, "send_error": sendErr, "code": code, "message": message}, nil
		}
		return result{"sent": sent, "send_error": sendErr, "total": strconv.FormatInt(res.Total, 10), "count": strconv.FormatUint(res.Count, 10)}, nil
	}},
	{"echo", func(ctx context.Context, c counterv1.CounterClient) (result, error) {
		clearMarker()
		stream, err := c.Echo(ctx)
		if err != nil {
			return nil, err
		}
		// Ping-pong: each tick is sent only after the last one came back.
		ticks := []uint32{}
		for i := uint32(1); i <= 3; i++ {
			if err := stream.Send(&counterv1.Tick{I: i, Payload: []byte{byte(i)}}); err != nil {
				return nil, err
			}
			t, err := stream.Recv()
			if err != nil {
				return nil, err
			}
			ticks = append(ticks, t.I)
		}
		if err := stream.CloseSend(); err != nil {
			return nil, err
		}
		_, err = stream.Recv()
		end := "EOF"
		if err != io.EOF {
			end = fmt.Sprint(err)
		}
		return result{"ticks": ticks, "end": end, "marker": waitMarker(`^echo ended$`)}, nil
	}},
	{"echo-cancel", func(ctx context.Context, c counterv1.CounterClient) (result, error) {
		clearMarker()
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := c.Echo(ctx)
		if err != nil {
			return nil, err
		}
		if err := stream.Send(&counterv1.Tick{I: 7}); err != nil {
			return nil, err
		}
		t, err := stream.Recv()
		if err != nil {
			return nil, err
		}
		cancel()
		_, err = stream.Recv()
		code, _ := codeOf(err)
		return result{"ticks": []uint32{t.I}, "code": code, "marker": waitMarker(`^echo cancelled$`)}, nil
	}},
	{"count-deadline", func(ctx context.Context, c counterv1.CounterClient) (result, error) {
		clearMarker()
		ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		stream, err := c.Count(ctx, &counterv1.CountRequest{N: 0, Size: 1024})
		if err != nil {
			return nil, err
		}
		for {
			if _, err := stream.Recv(); err != nil {
				code, _ := codeOf(err)
				return result{"code": code, "marker": waitMarker(`^cancelled after \d+$`)}, nil
			}
		}
	}},
	{"count-cancel", func(ctx context.Context, c counterv1.CounterClient) (result, error) {
		// An endless stream: read 3 ticks, cancel, and wait for the driver to notice.
		clearMarker()
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := c.Count(ctx, &counterv1.CountRequest{N: 0})
		if err != nil {
			return nil, err
		}
		ticks := []uint32{}
		for len(ticks) < 3 {
			t, err := stream.Recv()
			if err != nil {
				return nil, err
			}
			ticks = append(ticks, t.I)
		}
		cancel()
		// Ticks already buffered may still come; then the cancellation.
		for {
			if _, err = stream.Recv(); err != nil {
				break
			}
		}
		code, _ := codeOf(err)
		return result{"ticks": ticks, "code": code, "marker": waitMarker(`^cancelled after \d+$`)}, nil
	}},
}
