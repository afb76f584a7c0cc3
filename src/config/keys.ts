import { isAbsolute, resolve } from 'node:path';
import { ADDRESS_FORMS, parseAddress } from '../protocol/address.js';
import { parseReattach } from '../protocol/reattach.js';
import type { Contract } from '../contracts/contract.js';
import { DEFAULT_RESTART } from './restart.js';
import {
  count,
  duration,
  fail,
  flag,
  isTable,
  ok,
  oneOf,
  positive,
  stringTable,
  strings,
  table,
  within,
  type Parsed,
} from './parsers.js';
import { parseTable, type Key } from './table.js';
import { typeTables } from './types.js';
import { gatewayTable, methodList } from './gateway.js';
import type { DriverEntry } from './schema.js';

/** What parsing the top level knows besides the values: the folder relative paths start from, and the known types. */
export interface TopContext {
  dir: string;
  /** Every driver type by name: built in, given by the host's code, declared in `[types]`. */
  contracts: Readonly<Record<string, Contract>>;
}

/** What parsing one `[drivers.NAME]` table knows besides the values: also the instance name. */
export interface DriverContext extends TopContext {
  name: string;
}

const path = (expected: string) => (v: unknown, ctx: TopContext) =>
  typeof v === 'string' && v !== ''
    ? ok(isAbsolute(v) ? v : resolve(ctx.dir, v))
    : fail(expected, v);

function driverType(v: unknown, ctx: TopContext): Parsed<string> {
  if (typeof v !== 'string') return fail('a driver type name (string)', v);
  // hasOwn, so that "constructor" or "toString" is not taken for a driver type.
  return Object.hasOwn(ctx.contracts, v)
    ? ok(v)
    : fail(
        `a known driver type (${Object.keys(ctx.contracts).join(', ')}; declare others in [types.NAME])`,
        v,
      );
}

/** A service's address, or a list of them (replicas). */
function serviceAddress(v: unknown): Parsed<string | string[]> {
  const list = typeof v === 'string' ? [v] : v;
  const parsed = strings(list);
  if (!parsed.ok || parsed.value.length === 0)
    return fail(`${ADDRESS_FORMS}, or an array of them`, v);
  for (const text of parsed.value) {
    const a = parseAddress(text);
    if ('error' in a) return fail(ADDRESS_FORMS, text);
  }
  return ok(typeof v === 'string' ? v : parsed.value);
}

/** `NAME` or `NAME@RANGE`, as `driverkit install` takes it. */
function packageRef(v: unknown): Parsed<{ name: string; range?: string }> {
  const m = typeof v === 'string' ? /^([a-z0-9][a-z0-9._-]*)(?:@(.+))?$/.exec(v) : null;
  return m
    ? ok({ name: m[1], ...(m[2] ? { range: m[2] } : {}) })
    : fail('a package "NAME" or "NAME@RANGE", such as "kv@^1.2"', v);
}

function reattach(v: unknown) {
  const r = parseReattach(v);
  return r.ok
    ? ok(r.info)
    : fail(`the DRIVERKIT_REATTACH={...} line a driver prints, or a table (${r.reason})`, v);
}

// Defaults are raw values that go through the parser, so the docs show them as written in TOML.
const asDuration = (ms: number) => (ms % 1000 ? `${ms}ms` : `${ms / 1000}s`);
const sha256 = (v: unknown) =>
  typeof v === 'string' && /^[0-9a-fA-F]{64}$/.test(v)
    ? ok(v.toLowerCase())
    : fail('64 hex digits', v);
const address = (v: unknown) =>
  typeof v === 'string' && /^.+:\d+$/.test(v) ? ok(v) : fail('an address "HOST:PORT"', v);

/** The keys of a `[drivers.NAME]` table, in the order they are checked and documented. */
export const DRIVER_KEYS = [
  {
    toml: 'type',
    field: 'type',
    parse: driverType,
    default: (ctx: DriverContext) => ctx.name,
    defaultDoc: 'the instance name',
    doc: 'The driver type (`userprovider`): which services it serves.',
  },
  {
    toml: 'driver',
    field: 'driver',
    parse: path('the path of an executable or of a source folder (string)'),
    defaultDoc: 'none: `driver` or `package`',
    doc: 'An executable, or a source folder built into `<bin_dir>/<type>/<folder name>`.',
  },
  {
    toml: 'package',
    field: 'package',
    parse: packageRef,
    defaultDoc: 'none',
    doc: 'Instead of `driver`: an installed package, `NAME` or `NAME@RANGE`, installed on first use from `indexes` and pinned (digest checked at every start) by `driverkit.lock`.',
  },
  {
    toml: 'address',
    field: 'address',
    parse: serviceAddress,
    defaultDoc: 'none',
    doc: 'Instead of `driver`: a driver that runs as a service, dialed at `unix:///PATH.sock`, `tls://HOST:PORT`, `tcp://HOST:PORT` (plaintext: loopback, or `insecure`) or `dns:///NAME:PORT` (every A/AAAA record a replica, looked up again every 5 s); an array of them is a list of replicas. Never configured nor stopped by this host (see docs/past-one-machine.md).',
  },
  {
    toml: 'tls_ca',
    field: 'tlsCa',
    parse: path('a PEM file path (string)'),
    defaultDoc: "the system's CAs",
    doc: "With `address`: the CA that signs the service's certificate.",
  },
  {
    toml: 'tls_cert',
    field: 'tlsCert',
    parse: path('a PEM file path (string)'),
    defaultDoc: 'none',
    doc: "With `address`: this host's client certificate (mTLS), read again at each connection.",
  },
  {
    toml: 'tls_key',
    field: 'tlsKey',
    parse: path('a PEM file path (string)'),
    defaultDoc: 'none',
    doc: 'With `address`: the key of `tls_cert`.',
  },
  {
    toml: 'tls_server_name',
    field: 'tlsServerName',
    parse: (v: unknown) => (typeof v === 'string' && v ? ok(v) : fail('a host name', v)),
    defaultDoc: 'the host of the address',
    doc: "With `address`: the name the service's certificate must carry.",
  },
  {
    toml: 'insecure',
    field: 'insecure',
    parse: flag,
    defaultDoc: '`false`',
    doc: 'With `address`: plaintext TCP off loopback (no TLS), on purpose.',
  },
  {
    toml: 'allow_unverified_type',
    field: 'allowUnverifiedType',
    parse: flag,
    defaultDoc: '`false`',
    doc: "With `address`: send calls to a replica that answers no DriverInfo (a plain go-plugin service), taking its type on trust, and with it the calls' secrets. Default: such a replica is refused.",
  },
  { toml: 'args', field: 'args', parse: strings, default: [], doc: 'Arguments to the executable.' },
  { toml: 'env', field: 'env', parse: stringTable, default: {}, doc: 'Set in its environment.' },
  {
    toml: 'inherit_env',
    field: 'inheritEnv',
    parse: strings,
    default: [],
    doc: 'More of the host\'s variables it sees, besides PATH, HOME, USER, LOGNAME, SHELL, TMPDIR, TZ, TERM, LANG, LANGUAGE, LC_*, XDG_RUNTIME_DIR, LD_LIBRARY_PATH, the proxy and CA variables and DRIVERKIT_LOG_LEVEL: names, `PREFIX*`, `"*"` for all, `!` before one to withhold it. The gateway\'s `tokens_env` never reaches a driver.',
  },
  {
    toml: 'start_timeout',
    field: 'startTimeout',
    parse: duration,
    defaultDoc: '`"60s"`',
    doc: 'How long it may take to print its handshake and answer health checks.',
  },
  {
    toml: 'shutdown_grace',
    field: 'shutdownGrace',
    parse: duration,
    defaultDoc: '`"2s"`',
    doc: 'How long it may take to exit after Shutdown before SIGTERM.',
  },
  {
    toml: 'drain_timeout',
    field: 'drainTimeout',
    parse: duration,
    defaultDoc: '`call_timeout`, else `"30s"`',
    doc: 'After a reload swapped in a new process (or removed the driver), how long calls in flight may finish on the old one before it closes; streams still open then end as UNAVAILABLE.',
  },
  {
    toml: 'call_timeout',
    field: 'callTimeout',
    parse: duration,
    defaultDoc: '`"30s"`, none for streamed responses',
    doc: 'Deadline of calls through the host and the gateway that set none; set, it holds for streamed responses too.',
  },
  {
    toml: 'ping_interval',
    field: 'pingInterval',
    parse: duration,
    defaultDoc: '`"10s"`',
    doc: 'How long the connection to the driver may be quiet before the host checks that the driver answers: an HTTP/2 PING, or a health-check call where a grpc-go peer would count another PING as a strike (more than one in 5 minutes). So a stopped driver is found within `ping_interval` + `ping_timeout`, idle or busy.',
  },
  {
    toml: 'ping_timeout',
    field: 'pingTimeout',
    parse: duration,
    defaultDoc: '`"20s"`',
    doc: 'A PING unanswered this long fails the calls on the connection (UNAVAILABLE) and kills the driver, which its restart policy then restarts.',
  },
  {
    toml: 'sha256',
    field: 'sha256',
    parse: sha256,
    defaultDoc: 'none',
    doc: 'Hex digest the executable must have, checked before every start.',
  },
  {
    toml: 'required',
    field: 'required',
    parse: flag,
    defaultDoc: '`false`',
    doc: '`driverkit serve` exits if this driver fails its first start, and listens only once it serves; otherwise serve listens without waiting for it, reports it NOT_SERVING until it serves and starts it again on its restart backoff.',
  },
  {
    toml: 'auto_mtls',
    field: 'autoMTLS',
    parse: flag,
    defaultDoc: '`false`',
    doc: 'go-plugin AutoMTLS between host and driver.',
  },
  {
    toml: 'allow_remote_address',
    field: 'allowRemote',
    parse: flag,
    defaultDoc: '`false`',
    doc: 'Dial a TCP handshake address off loopback (a driver reattached on another machine); refused otherwise.',
  },
  {
    toml: 'restart',
    group: 'restart',
    field: 'policy',
    parse: oneOf(['never', 'on-failure']),
    default: DEFAULT_RESTART.policy,
    doc: '`"on-failure"` restarts it after a non-zero exit or a signal.',
  },
  {
    toml: 'restart_delay',
    group: 'restart',
    field: 'delay',
    parse: duration,
    default: asDuration(DEFAULT_RESTART.delay),
    doc: 'First delay before a restart; doubles with each consecutive failure.',
  },
  {
    toml: 'restart_max_delay',
    group: 'restart',
    field: 'maxDelay',
    parse: duration,
    default: asDuration(DEFAULT_RESTART.maxDelay),
    doc: 'The longest delay before a restart.',
  },
  {
    toml: 'max_restarts',
    group: 'restart',
    field: 'maxRestarts',
    parse: count,
    default: DEFAULT_RESTART.maxRestarts,
    doc: 'Consecutive failures (crashes or failed starts) after which the driver is given up; a service (`address`) is never given up.',
  },
  {
    toml: 'reattach',
    field: 'reattach',
    parse: reattach,
    defaultDoc: 'none',
    doc: 'The `DRIVERKIT_REATTACH={…}` line of a driver started by hand: connect to it instead of starting `driver`.',
  },
  {
    toml: 'kill_on_close',
    field: 'killOnClose',
    parse: flag,
    defaultDoc: '`false`',
    doc: 'With `reattach`: stop that process on close.',
  },
  {
    toml: 'config',
    field: 'config',
    parse: table,
    default: {},
    doc: "Handed to the driver's Configure.",
  },
  {
    toml: 'gateway_allow',
    field: 'gatewayAllow',
    parse: methodList,
    defaultDoc: 'every method but Configure',
    doc: 'The methods `driverkit serve` relays to this driver (`["GetUser"]`, `["*"]` for all).',
  },
] as const satisfies readonly Key<DriverContext>[];

const NAME = /^[A-Za-z0-9_.-]+$/;

/** Index locations: URLs as they are, folders made absolute. */
function indexList(v: unknown, ctx: TopContext): Parsed<string[]> {
  const list = strings(v);
  if (!list.ok) return fail('an array of index folders or URLs', v);
  return ok(
    list.value.map((i) =>
      /^(https?:|file:|git\+)/.test(i) || isAbsolute(i) ? i : resolve(ctx.dir, i),
    ),
  );
}

/** Key files, made absolute against the config's folder. */
function keyFiles(v: unknown, ctx: TopContext): Parsed<string[]> {
  const list = strings(v);
  if (!list.ok) return fail('an array of public key files (PEM)', v);
  return ok(list.value.map((f) => resolve(ctx.dir, f)));
}

/** The `drivers` table: each entry parsed by DRIVER_KEYS, then given its name and contract. */
export function driverTables(v: unknown, ctx: TopContext): Parsed<DriverEntry[]> {
  if (!isTable(v)) return fail('a table of [drivers.NAME] tables', v);
  const entries = Object.entries(v);
  // No value quoted: an empty table is the same mistake as a missing one.
  if (entries.length === 0) return fail('at least one [drivers.NAME] table');
  const drivers: DriverEntry[] = [];
  for (const [name, raw] of entries) {
    if (!NAME.test(name))
      return within(name, fail('a name of letters, digits, "_", "." or "-"', name));
    const fields = parseTable(DRIVER_KEYS, raw, { ...ctx, name });
    if (!fields.ok) return within(name, fields);
    const given = (['driver', 'package', 'address'] as const).filter(
      (k) => fields.value[k] !== undefined,
    );
    if (given.length !== 1) {
      return within(
        name,
        within(
          given[1] ?? 'driver',
          fail(
            given.length > 1
              ? `one of driver, package or address, not ${given.join(' and ')}`
              : 'the path of an executable or of a source folder (or package = "NAME[@RANGE]", or address = "tls://HOST:PORT")',
          ),
        ),
      );
    }
    if (fields.value.address !== undefined && Object.keys(fields.value.config).length > 0)
      return within(
        name,
        within(
          'config',
          fail(
            'no config table with address: a service is configured by its deployment (DRIVERKIT_CONFIGURE where it runs), not by each host',
            fields.value.config,
          ),
        ),
      );
    const tlsKey = (
      ['tlsCa', 'tlsCert', 'tlsKey', 'tlsServerName', 'insecure', 'allowUnverifiedType'] as const
    ).find((k) => fields.value[k] !== undefined);
    if (tlsKey && fields.value.address === undefined)
      return within(
        name,
        within(
          DRIVER_KEYS.find((k) => k.field === tlsKey)!.toml,
          fail('address: it is how a service is dialed; a driver this host starts uses auto_mtls'),
        ),
      );
    if (fields.value.address !== undefined && fields.value.reattach !== undefined)
      return within(
        name,
        within('reattach', fail('no reattach with address: a service is dialed')),
      );
    const contract = ctx.contracts[fields.value.type];
    // Configure is what receives the table; a type without it would silently drop it.
    const configurable = Object.values(contract.versions).every((s) => 'configure' in s.methods);
    if (!configurable && Object.keys(fields.value.config).length > 0) {
      return within(
        name,
        within(
          'config',
          fail(
            `no config table: type "${contract.type}" has no Configure method to receive one`,
            fields.value.config,
          ),
        ),
      );
    }
    // A package's executable is known once it is installed: `driver` stays empty until then.
    drivers.push({ name, contract, ...fields.value, driver: fields.value.driver ?? '' });
  }
  return ok(drivers);
}

/** The top-level keys of a config file. */
export const TOP_KEYS = [
  {
    toml: 'bin_dir',
    field: 'binDir',
    parse: path('a folder path (string)'),
    default: 'bin',
    doc: 'Where source drivers are built.',
  },
  {
    toml: 'socket_dir',
    field: 'socketDir',
    parse: path('a folder path (string)'),
    defaultDoc: 'none',
    doc: 'A folder of drivers run as services (sidecars): each `NAME.sock` in it is driver NAME, of the type its DriverInfo names, dialed as `address = "unix://…/NAME.sock"` would be; watched, so sockets added and removed add and remove drivers. A configured driver of the same name wins.',
  },
  {
    toml: 'socket_owner',
    field: 'socketOwner',
    parse: count,
    defaultDoc: 'none',
    doc: "The uid, besides driverkit's own user and root, that may own `socket_dir` and the sockets in it: the sidecars' user, when they run as another user than serve. Sockets of any other user are refused.",
  },
  {
    toml: 'mode',
    field: 'mode',
    parse: oneOf(['development', 'production']),
    default: 'development',
    doc: '`"production"`: nothing is built, cloned or downloaded at run time: a source-folder entry and a package not installed (by `driverkit install --frozen` at deploy time) are refused before any driver starts; logs are JSON lines. `driverkit serve --mode` overrides it.',
  },
  {
    toml: 'listen',
    field: 'listen',
    parse: address,
    defaultDoc: '`"127.0.0.1:50051"`',
    doc: "`driverkit serve`'s address, `HOST:PORT`.",
  },
  {
    toml: 'gateway',
    field: 'gateway',
    parse: gatewayTable,
    default: {},
    doc: "`driverkit serve`'s TLS, authentication and limits: the `[gateway]` table (keys below).",
  },
  {
    toml: 'indexes',
    field: 'indexes',
    parse: indexList,
    default: [],
    doc: 'Package indexes (folders, `file:` or `http(s):` URLs, `git+URL[#REF]`) that `package` entries are installed from; `DRIVERKIT_INDEX` adds more.',
  },
  {
    toml: 'trusted_keys',
    field: 'trustedKeys',
    parse: keyFiles,
    default: [],
    doc: 'Ed25519 public keys (PEM files) one of which must sign every manifest a `package` entry installs; `DRIVERKIT_TRUSTED_KEYS` adds more. Default: signatures are not checked.',
  },
  {
    toml: 'build_packages',
    field: 'buildPackages',
    parse: flag,
    default: false,
    doc: "Let a `package` entry whose version has no artifact for this platform be built from the source its manifest names (that runs the repository's build with the host's rights).",
  },
  {
    toml: 'max_download_size',
    field: 'maxDownloadBytes',
    parse: positive,
    defaultDoc: '`268435456`',
    doc: "The largest download (an index file or archive, after any content-encoding) a `package` entry's install takes, in bytes.",
  },
  {
    toml: 'max_unpacked_size',
    field: 'maxUnpackedBytes',
    parse: positive,
    defaultDoc: '`1073741824`',
    doc: "The most an installed archive's files may hold, in bytes (at most 10,000 entries).",
  },
  {
    toml: 'download_timeout',
    field: 'downloadTimeout',
    parse: duration,
    defaultDoc: '`"5m"`; 30 s without a byte ends it too',
    doc: 'How long one download may take.',
  },
  {
    toml: 'types',
    field: 'types',
    parse: typeTables,
    default: {},
    doc: 'One `[types.NAME]` table per driver type declared from its `.proto` (keys below).',
  },
  {
    toml: 'drivers',
    field: 'drivers',
    parse: driverTables,
    required: 'at least one [drivers.NAME] table',
    doc: 'One `[drivers.NAME]` table per driver instance; NAME is letters, digits, `_`, `.` or `-`.',
  },
] as const satisfies readonly Key<TopContext>[];
