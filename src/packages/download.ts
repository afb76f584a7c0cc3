import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { DriverkitError } from '../errors.js';

/**
 * Bounds on one fetch, so that a hostile or broken index cannot fill memory or disk or hang
 * an install: its size (after any content-encoding), its whole time, the longest wait for
 * its next bytes, and a signal that cancels it (a host's close(), SIGTERM).
 */
export interface FetchLimits {
  maxBytes?: number;
  timeoutMs?: number;
  stallMs?: number;
  signal?: AbortSignal;
}

/** The defaults: 256 MiB, 5 minutes, 30 s without a byte. */
export const DOWNLOAD_LIMITS = {
  maxBytes: 256 * 1024 * 1024,
  timeoutMs: 5 * 60_000,
  stallMs: 30_000,
} as const;

/** What an index's JSON files may weigh: names and versions, not payloads. */
export const JSON_MAX_BYTES = 4 * 1024 * 1024;

/** Hears how a download goes: bytes so far (and the total when the server says it), then its end, however it ends. */
export interface Progress {
  update(received: number, total: number | undefined): void;
  end(): void;
}

/**
 * Reads a `file:` or `http(s):` URL within `limits`, handing each piece to `onChunk`.
 * False when it is missing (404, ENOENT) and `optional`; any other failure, limit or
 * cancellation is DOWNLOAD_FAILED naming the URL. A `file:` URL must name a regular file:
 * a FIFO or a device (`/dev/zero`) is refused before it is read.
 */
export async function streamUrl(
  url: URL,
  onChunk: (chunk: Buffer) => void | Promise<void>,
  options: FetchLimits & { optional?: boolean; progress?: Progress } = {},
): Promise<boolean> {
  const {
    maxBytes = DOWNLOAD_LIMITS.maxBytes,
    timeoutMs = DOWNLOAD_LIMITS.timeoutMs,
    stallMs = DOWNLOAD_LIMITS.stallMs,
  } = options;
  const stalled = new AbortController();
  // A timer holds at most 2^31-1 ms (about 24.8 days): a longer timeout is as good as none.
  const ownTimeout = AbortSignal.timeout(Math.min(timeoutMs, 2 ** 31 - 1));
  const signals = [ownTimeout, stalled.signal];
  if (options.signal) signals.push(options.signal);
  const signal = AbortSignal.any(signals);
  let stall: NodeJS.Timeout | undefined;
  const watch = () => {
    clearTimeout(stall);
    stall = setTimeout(
      () => stalled.abort(new StallError(`no data for ${stallMs / 1000} s`)),
      stallMs,
    ).unref();
  };
  let received = 0;
  const take = async (chunk: Buffer, total?: number) => {
    received += chunk.length;
    if (received > maxBytes) throw new Error(`larger than the ${maxBytes}-byte limit`);
    watch();
    options.progress?.update(received, total);
    await onChunk(chunk);
  };
  try {
    watch();
    if (url.protocol === 'file:') {
      // Opened without blocking (a FIFO would wait for a writer), then judged by what was
      // opened, so the file cannot be swapped between the check and the read.
      const handle = await open(fileURLToPath(url), constants.O_RDONLY | constants.O_NONBLOCK);
      try {
        const info = await handle.stat();
        if (!info.isFile()) throw new Error('not a regular file');
        if (info.size > maxBytes) throw new Error(`larger than the ${maxBytes}-byte limit`);
        const stream = handle.createReadStream({ signal, autoClose: false });
        for await (const chunk of stream) await take(chunk as Buffer);
      } finally {
        await handle.close();
      }
      return true;
    }
    const res = await fetch(url, { signal });
    if (res.status === 404 && options.optional) {
      await res.body?.cancel();
      return false;
    }
    const length = Number(res.headers.get('content-length') ?? NaN);
    const refused = !res.ok
      ? `HTTP ${res.status} ${res.statusText}`
      : !res.headers.get('content-encoding') && length > maxBytes
        ? `larger than the ${maxBytes}-byte limit (content-length ${length})`
        : undefined;
    if (refused) {
      // Not read: its connection goes now, not at the timeout.
      await res.body?.cancel();
      throw new Error(refused);
    }
    for await (const chunk of res.body ?? [])
      await take(Buffer.from(chunk), length >= 0 ? length : undefined);
    // fetch trusts the server about compression; without it, a short body is a cut transfer.
    if (!res.headers.get('content-encoding') && length >= 0 && received !== length)
      throw new Error(`got ${received} of ${length} bytes`);
    return true;
  } catch (err) {
    if (options.optional && (err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    const why = ownTimeout.aborted
      ? `not done after ${timeoutMs / 1000} s`
      : signal.aborted
        ? reasonOf(signal.reason)
        : ((err as Error & { cause?: Error }).cause?.message ?? (err as Error).message);
    throw new DriverkitError('DOWNLOAD_FAILED', `could not download ${url.href}: ${why}`, {
      cause: err,
    });
  } finally {
    clearTimeout(stall);
    options.progress?.end();
  }
}

/** The bytes at a URL (see streamUrl), or undefined when missing and `optional`. */
export async function fetchBytes(
  url: URL,
  options: FetchLimits & { optional?: boolean; progress?: Progress } = {},
): Promise<Buffer | undefined> {
  const parts: Buffer[] = [];
  const found = await streamUrl(url, (c) => void parts.push(c), options);
  return found ? Buffer.concat(parts) : undefined;
}

/** Downloads a URL into a new file (see streamUrl) and returns its sha256 and size. */
export async function fetchToFile(
  url: URL,
  file: string,
  options: FetchLimits & { progress?: Progress } = {},
): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  const out = await open(file, 'wx', 0o600);
  let size = 0;
  try {
    await streamUrl(
      url,
      async (chunk) => {
        hash.update(chunk);
        size += chunk.length;
        await out.write(chunk);
      },
      options,
    );
  } finally {
    await out.close();
  }
  return { sha256: hash.digest('hex'), size };
}

/** Why a signal stopped the download: the stall, or the reason its canceller gave. */
function reasonOf(reason: unknown): string {
  if (reason instanceof StallError) return reason.message;
  if (reason instanceof Error && reason.name !== 'AbortError')
    return `cancelled: ${reason.message}`;
  return 'cancelled';
}

class StallError extends Error {}
