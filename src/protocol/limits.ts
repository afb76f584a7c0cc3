/**
 * The largest gRPC message either side accepts or sends: 16 MiB. grpc-js's default receive
 * limit is 4 MiB; a user directory can answer a FindUsers with more, so both ends raise it
 * to the same, deliberate figure. Larger messages fail with RESOURCE_EXHAUSTED.
 */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** Channel and server options that apply the limit. */
export const MESSAGE_LIMIT_OPTIONS = {
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
} as const;

/**
 * HTTP/2 flow-control windows. At the protocol's default (64 KiB) a 1 MiB message waits for
 * a WINDOW_UPDATE every 64 KiB; with these, for a few. Measured in the bench row "changes":
 * median 0.87x at 1 MiB, no change at 100 B (docs/performance.md).
 */
export const STREAM_WINDOW_BYTES = 1024 * 1024;
export const CONNECTION_WINDOW_BYTES = 4 * 1024 * 1024;
