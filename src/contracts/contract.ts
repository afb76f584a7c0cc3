/** A message codec as ts-proto generates it (`MessageFns<T>`). */
export interface MessageType<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
  fromPartial(object: any): T;
  fromJSON(object: any): T;
  toJSON(message: T): unknown;
}

/** One method of a ts-proto "generic definition". */
export interface MethodDef<Req = any, Res = any> {
  readonly name: string;
  readonly requestType: MessageType<Req>;
  readonly responseType: MessageType<Res>;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  /** The method's options in the proto; `idempotencyLevel` says whether it may be sent twice. */
  readonly options?: { readonly idempotencyLevel?: string };
}

/** A gRPC service as ts-proto's `outputServices=generic-definitions` emits it. */
export interface ServiceDef {
  readonly name: string;
  readonly fullName: string;
  readonly methods: { readonly [method: string]: MethodDef };
}

export type RequestOf<M> = M extends MethodDef<infer Req, any> ? Req : never;
export type ResponseOf<M> = M extends MethodDef<any, infer Res> ? Res : never;

/** Like ts-proto's DeepPartial: every field optional, all the way down. */
export type DeepPartial<T> = T extends
  | string
  | number
  | boolean
  | bigint
  | Uint8Array
  | Date
  | undefined
  | null
  ? T
  : T extends ReadonlyArray<infer U>
    ? ReadonlyArray<DeepPartial<U>>
    : T extends object
      ? { [K in keyof T]?: DeepPartial<T[K]> }
      : T;

/**
 * A driver type: its go-plugin handshake values and its gRPC service for each app protocol
 * version. Host and driver import the same object, so the two can never disagree.
 */
export interface Contract<V extends Record<number, ServiceDef> = Record<number, ServiceDef>> {
  /** The type name used in config and in `bin/<type>/<name>`. */
  readonly type: string;
  /** Environment variable the host sets and the driver checks (go-plugin's MagicCookieKey). */
  readonly cookieKey: string;
  /** Its value (go-plugin's MagicCookieValue). */
  readonly cookieValue: string;
  /** The service each app protocol version serves. */
  readonly versions: V;
}

/** The gRPC method path, `/package.Service/Method`. */
export function methodPath(service: ServiceDef, method: MethodDef): string {
  return `/${service.fullName}/${method.name}`;
}

/** The app protocol versions a contract speaks, ascending. */
export function contractVersions(contract: Contract): number[] {
  return Object.keys(contract.versions)
    .map(Number)
    .sort((a, b) => a - b);
}

/**
 * The codec pair for one side of a method. Requests and responses are built with
 * `fromPartial` so callers and handlers may leave defaults out, as in proto3 itself.
 */
export function codec<T>(type: MessageType<T>): {
  serialize(value: unknown): Buffer;
  deserialize(bytes: Buffer): T;
} {
  return {
    serialize: (value) => Buffer.from(type.encode(type.fromPartial(value)).finish()),
    deserialize: (bytes) => type.decode(bytes),
  };
}
