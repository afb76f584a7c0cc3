import type protobuf from 'protobufjs';
import { fullName, servicesOf } from './proto.js';

/** One driver type read from protos: its handshake and a service per app protocol version. */
export interface TypeSpec {
  type: string;
  cookieKey: string;
  cookieValue: string;
  /** The service of each app protocol version. */
  versions: Map<number, protobuf.Service>;
}

/** The `(driverkit.driver)` option of a service, as protobufjs parsed it. */
interface DriverOption {
  type?: string;
  cookie_key?: string;
  cookie_value?: string;
  version?: number;
}

function driverOption(service: protobuf.Service): DriverOption | undefined {
  const parsed = (service.parsedOptions ?? []) as Array<Record<string, unknown>>;
  return parsed.find((o) => '(driverkit.driver)' in o)?.['(driverkit.driver)'] as
    | DriverOption
    | undefined;
}

/** Thrown for a proto whose driver types are inconsistent; the message names the service. */
export class TypeSpecError extends Error {}

const TYPE_NAME = /^[A-Za-z0-9_-]+$/;

/**
 * The driver types declared in a proto tree: every service with a `(driverkit.driver)`
 * option, grouped by type. The versions of one type must agree on the cookie and differ in
 * version; two types must not share a cookie (a driver could not tell them apart).
 */
export function driverTypes(root: protobuf.Root): TypeSpec[] {
  const byType = new Map<string, TypeSpec>();
  // Sorted, so that results and errors do not depend on the order files finished loading.
  for (const service of servicesOf(root).sort((a, b) => fullName(a).localeCompare(fullName(b)))) {
    const o = driverOption(service);
    if (!o) continue;
    const where = `service ${fullName(service)}: (driverkit.driver)`;
    if (!o.type || !TYPE_NAME.test(o.type))
      throw new TypeSpecError(
        `${where}: expected a type name of letters, digits, "_" or "-", got ${JSON.stringify(o.type ?? '')}`,
      );
    if (!o.cookie_key || !o.cookie_value)
      throw new TypeSpecError(`${where}: expected cookie_key and cookie_value`);
    if (!Number.isInteger(o.version) || o.version! < 1)
      throw new TypeSpecError(
        `${where}: expected a version of 1 or more, got ${JSON.stringify(o.version ?? null)}`,
      );
    addVersion(
      byType,
      { type: o.type, cookieKey: o.cookie_key, cookieValue: o.cookie_value, version: o.version! },
      service,
    );
  }
  checkCookies([...byType.values()]);
  return [...byType.values()];
}

/** Adds one version of a type, checking it agrees with the versions already seen. */
export function addVersion(
  byType: Map<string, TypeSpec>,
  h: { type: string; cookieKey: string; cookieValue: string; version: number },
  service: protobuf.Service,
): void {
  const spec = byType.get(h.type) ?? {
    type: h.type,
    cookieKey: h.cookieKey,
    cookieValue: h.cookieValue,
    versions: new Map(),
  };
  const where = `service ${fullName(service)}`;
  if (spec.cookieKey !== h.cookieKey || spec.cookieValue !== h.cookieValue) {
    throw new TypeSpecError(
      `${where}: type "${h.type}" has the cookie ${spec.cookieKey}=${spec.cookieValue} on another version; every version of a type must use the same cookie`,
    );
  }
  const other = spec.versions.get(h.version);
  if (other)
    throw new TypeSpecError(
      `${where}: version ${h.version} of type "${h.type}" is already service ${fullName(other)}`,
    );
  spec.versions.set(h.version, service);
  byType.set(h.type, spec);
}

/** Two types with one cookie would start each other's drivers: refuse. */
export function checkCookies(specs: readonly TypeSpec[]): void {
  const seen = new Map<string, string>();
  for (const s of specs) {
    const cookie = `${s.cookieKey}=${s.cookieValue}`;
    const other = seen.get(cookie);
    if (other !== undefined && other !== s.type)
      throw new TypeSpecError(
        `types "${other}" and "${s.type}" share the cookie ${cookie}; each type needs its own`,
      );
    seen.set(cookie, s.type);
  }
}
