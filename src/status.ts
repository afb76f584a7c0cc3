/** gRPC status codes (the same numbers as `@grpc/grpc-js`'s `status`), for errors across the wire. */
export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** A gRPC status code, 0 to 16. */
export type StatusCode = (typeof Status)[keyof typeof Status];
/** A gRPC status code's name, `NOT_FOUND`. */
export type StatusName = keyof typeof Status;

const NAMES = Object.fromEntries(
  Object.entries(Status).map(([name, code]) => [code, name]),
) as Record<number, StatusName>;

/** The name of a status code, `UNKNOWN` for a number gRPC does not define. */
export function statusName(code: number): StatusName {
  return NAMES[code] ?? 'UNKNOWN';
}
