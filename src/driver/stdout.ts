import { StdioData_Channel, type StdioData } from '../gen/plugin/grpc_stdio.js';

/** Bytes of stdout kept for the host while nobody streams them; older ones are dropped. */
const MAX_BUFFERED = 1 << 20;

type Write = typeof process.stdout.write;

/**
 * Owns the driver's stdout. Before the handshake every write goes to stderr, so stray
 * output cannot corrupt the handshake line; afterwards writes are sent to the host over
 * GRPCStdio, as go-plugin drivers do.
 */
export class StdoutCapture {
  private readonly original: Write;
  private buffered: StdioData[] = [];
  private bufferedBytes = 0;
  private sink?: (data: StdioData) => void;

  constructor() {
    this.original = process.stdout.write.bind(process.stdout) as Write;
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) =>
      (process.stderr.write as (...a: unknown[]) => boolean)(chunk, ...rest)) as Write;
  }

  /** Writes the handshake line in one write, then routes later stdout to GRPCStdio. */
  handshake(line: string): void {
    this.original(line);
    process.stdout.write = ((chunk: string | Uint8Array, encoding?: unknown, cb?: unknown) => {
      const data = typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') : Buffer.from(chunk);
      this.push({ channel: StdioData_Channel.STDOUT, data });
      const done = typeof encoding === 'function' ? encoding : cb;
      if (typeof done === 'function') queueMicrotask(() => done());
      return true;
    }) as Write;
  }

  /** Delivers buffered and future stdout chunks to `sink` (the one StreamStdio call). */
  attach(sink: (data: StdioData) => void): () => void {
    this.sink = sink;
    for (const d of this.buffered) sink(d);
    this.buffered = [];
    this.bufferedBytes = 0;
    return () => {
      if (this.sink === sink) this.sink = undefined;
    };
  }

  private push(data: StdioData): void {
    if (this.sink) return this.sink(data);
    this.buffered.push(data);
    this.bufferedBytes += data.data.length;
    while (this.bufferedBytes > MAX_BUFFERED && this.buffered.length > 1) {
      this.bufferedBytes -= this.buffered.shift()!.data.length;
    }
  }
}
