// The responses of a server-streaming or bidi call as the caller iterates them. Written by
// hand, not as an async generator: a generator's return() waits behind a pending next(), so
// a caller that gives up on a quiet stream (Promise.race against a timeout, then return())
// would hang and leave the call running in the driver. Here return() and throw() reset the
// stream at once and settle a pending next() with done.
import type { RequestQueue } from './request-queue.js';

export class ResponseStream implements AsyncIterableIterator<unknown> {
  readonly #queue: AsyncIterator<unknown>;
  #leave: (() => void) | undefined;

  /** `leave` cancels the call; it runs once, when the caller leaves before the end. */
  constructor(queue: RequestQueue<unknown>, leave: () => void) {
    this.#queue = queue[Symbol.asyncIterator]();
    this.#leave = leave;
  }

  next(): Promise<IteratorResult<unknown>> {
    return this.#queue.next();
  }

  return(value?: unknown): Promise<IteratorResult<unknown>> {
    this.#stop();
    return Promise.resolve({ done: true, value });
  }

  throw(err?: unknown): Promise<IteratorResult<unknown>> {
    this.#stop();
    return Promise.reject(err);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #stop(): void {
    // First settle a pending read with done, then cancel: the cancel's error is for readers
    // still reading, not for the one who left.
    void this.#queue.return?.();
    const leave = this.#leave;
    this.#leave = undefined;
    leave?.();
  }
}
