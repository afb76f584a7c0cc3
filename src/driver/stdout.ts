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
  private sink?: (data: StdioData) => Promise<void>;
  private sending = false;

  constructor() {
    this.original = process.stdout.write.bind(process.stdout) as Write;
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) =>
      (process.stderr.write as (...a: unknown[]) => boolean)(chunk, ...rest)) as Write;
  }

  /** Writes the handshake line in one write, then routes later stdout to GRPCStdio. */
  handshake(line: string): void {
    this.original(line);
    process.stdout.write = ((chunk: string | Uint8Array, encoding?: unknown, cb?: unknown) => {
      const data =
        typeof chunk === 'string'
          ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
          : Buffer.from(chunk);
      this.push({ channel: StdioData_Channel.STDOUT, data });
      const done = typeof encoding === 'function' ? encoding : cb;
      if (typeof done === 'function') queueMicrotask(() => done());
      return true;
    }) as Write;
  }

  /** True while a StreamStdio call receives stdout: there is one receiver, the host. */
  get attached(): boolean {
    return this.sink !== undefined;
  }

  /**
   * Delivers buffered and future stdout chunks to `sink` (the one StreamStdio call), one
   * at a time: the next goes when the last was taken, and what waits meanwhile is bounded
   * (the oldest is dropped), so a host that never reads cannot grow the driver's memory.
   */
  attach(sink: (data: StdioData) => Promise<void>): () => void {
    this.sink = sink;
    this.flush();
    return () => {
      if (this.sink === sink) this.sink = undefined;
    };
  }

  private push(data: StdioData): void {
    this.buffered.push(data);
    this.bufferedBytes += data.data.length;
    while (this.bufferedBytes > MAX_BUFFERED && this.buffered.length > 1) {
      this.bufferedBytes -= this.buffered.shift()!.data.length;
    }
    this.flush();
  }

  private flush(): void {
    const sink = this.sink;
    if (!sink || this.sending || this.buffered.length === 0) return;
    const next = this.buffered.shift()!;
    this.bufferedBytes -= next.data.length;
    this.sending = true;
    void sink(next).finally(() => {
      this.sending = false;
      this.flush();
    });
  }
}
