/**
 * What travels from a host call to the driver's handler besides the request, as gRPC
 * metadata, so that any gRPC peer (a Go driver, a gateway client) can read or set it.
 */
export interface RequestContext {
  /** Follows one request through host and driver logs; metadata `x-request-id`. */
  requestId?: string;
  /** The user on whose behalf the call is made; metadata `driverkit-user`. */
  user?: string;
  /** A credential for the driver to pass on; metadata `authorization: Bearer <token>`. */
  token?: string;
  /** Log fields the driver adds to every line it logs for this call; metadata `driverkit-log-fields` (JSON). */
  fields?: Record<string, string | number | boolean>;
}

export const CONTEXT_METADATA = {
  requestId: 'x-request-id',
  user: 'driverkit-user',
  token: 'authorization',
  fields: 'driverkit-log-fields',
} as const;

/** The metadata entries for a context. */
export function contextToMetadata(ctx: RequestContext): Record<string, string> {
  const md: Record<string, string> = {};
  if (ctx.requestId) md[CONTEXT_METADATA.requestId] = ctx.requestId;
  if (ctx.user) md[CONTEXT_METADATA.user] = ctx.user;
  if (ctx.token) md[CONTEXT_METADATA.token] = `Bearer ${ctx.token}`;
  if (ctx.fields && Object.keys(ctx.fields).length)
    md[CONTEXT_METADATA.fields] = JSON.stringify(ctx.fields);
  return md;
}

/** Reads a context back from metadata; malformed parts are left out, never fatal. */
export function contextFromMetadata(md: Readonly<Record<string, string>>): RequestContext {
  const ctx: RequestContext = {};
  if (md[CONTEXT_METADATA.requestId]) ctx.requestId = md[CONTEXT_METADATA.requestId];
  if (md[CONTEXT_METADATA.user]) ctx.user = md[CONTEXT_METADATA.user];
  const auth = /^Bearer (.+)$/.exec(md[CONTEXT_METADATA.token] ?? '');
  if (auth) ctx.token = auth[1];
  try {
    const fields: unknown = JSON.parse(md[CONTEXT_METADATA.fields] ?? 'null');
    if (fields && typeof fields === 'object' && !Array.isArray(fields))
      ctx.fields = fields as RequestContext['fields'];
  } catch {
    // not JSON: no fields
  }
  return ctx;
}
