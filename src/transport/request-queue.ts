/** Requests buffered past this many, or this many bytes, pause the stream; HTTP/2 flow control then slows the client. */
const HIGH_WATER = 16;
const HIGH_WATER_BYTES = 1 << 20;

/**
 * The requests of a client-streaming or bidi call, as the AsyncIterable a handler reads.
 * Messages are decoded as they arrive; while more than HIGH_WATER (or HIGH_WATER_BYTES)
 * wait unread, the HTTP/2 stream is paused, so a handler that reads slowly holds the client
 * back instead of the driver buffering without bound. `taken` hears the size of each
 * request as the handler takes it (the server counts bytes held until then).
 */
export class RequestQueue<T> implements AsyncIterable<T> {
  #buffer: T[] = [];
  #sizes: number[] = [];
  #bytes = 0;
  #waiting?: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void };
  #ended = false;
  #error: unknown;
  #paused = false;

  constructor(
    private readonly pause: () => void,
    private readonly resume: () => void,
    private readonly taken: (bytes: number) => void = () => {},
  ) {}

  /** One request arrived, of `size` bytes on the wire. */
  push(value: T, size = 0): void {
    // Nobody will read it (the reader left, or the call failed): its bytes are not held.
    if (this.#ended) return this.taken(size);
    if (this.#waiting) {
      this.taken(size);
      return this.#settle({ value, done: false });
    }
    this.#buffer.push(value);
    this.#sizes.push(size);
    this.#bytes += size;
    const full = this.#buffer.length >= HIGH_WATER || this.#bytes >= HIGH_WATER_BYTES;
    if (full && !this.#paused) {
      this.#paused = true;
      this.pause();
    }
  }

  /** The client half-closed: no more requests. */
  end(): void {
    this.#ended = true;
    if (this.#waiting && this.#buffer.length === 0) this.#settle({ value: undefined, done: true });
  }

  /** The call failed (cancelled, say): a handler waiting for a request gets `err`. */
  fail(err: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = err;
    this.#drop();
    const w = this.#waiting;
    this.#waiting = undefined;
    w?.reject(err);
  }

  /** The stream ended with `err` after the messages already in: those are read first. */
  endWith(err: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = err;
    if (!this.#waiting || this.#buffer.length > 0) return;
    const w = this.#waiting;
    this.#waiting = undefined;
    w.reject(err);
  }

  /** Drops what is buffered: nobody will take it. */
  #drop(): void {
    this.taken(this.#bytes);
    this.#buffer = [];
    this.#sizes = [];
    this.#bytes = 0;
  }

  #settle(r: IteratorResult<T>): void {
    const w = this.#waiting!;
    this.#waiting = undefined;
    w.resolve(r);
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.#buffer.length) {
          const value = this.#buffer.shift()!;
          const size = this.#sizes.shift()!;
          this.#bytes -= size;
          this.taken(size);
          const low = this.#buffer.length < HIGH_WATER / 2 && this.#bytes < HIGH_WATER_BYTES / 2;
          if (this.#paused && low) {
            this.#paused = false;
            this.resume();
          }
          return Promise.resolve({ value, done: false });
        }
        if (this.#error !== undefined) return Promise.reject(this.#error);
        if (this.#ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => (this.#waiting = { resolve, reject }));
      },
      // A handler that stops reading early: drop the rest.
      // A read still pending ends too: whoever left must not wait for a message.
      return: () => {
        this.#ended = true;
        this.#drop();
        if (this.#waiting) this.#settle({ value: undefined, done: true });
        if (this.#paused) this.resume();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
