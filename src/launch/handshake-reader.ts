import type { Readable } from 'node:stream';

/** A handshake line longer than this is garbage, not a handshake. */
const MAX_HANDSHAKE = 64 * 1024;

/**
 * Resolves with the first line of a driver's stdout (undefined when stdout ends first),
 * then keeps draining stdout into `onAfter` so a chatty driver never blocks on a full pipe.
 */
export function readHandshakeLine(
  stdout: Readable,
  onAfter: (chunk: Buffer) => void,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (line: string | undefined, rest?: Buffer) => {
      done = true;
      resolve(line);
      if (rest?.length) onAfter(rest);
    };
    stdout.on('data', (chunk: Buffer) => {
      if (done) return onAfter(chunk);
      buf = Buffer.concat([buf, chunk]);
      const nl = buf.indexOf(10);
      if (nl !== -1) finish(buf.subarray(0, nl).toString('utf8'), buf.subarray(nl + 1));
      else if (buf.length > MAX_HANDSHAKE) finish(`${buf.subarray(0, 200).toString('utf8')}…`);
    });
    stdout.on('end', () => {
      if (!done) finish(buf.length ? buf.toString('utf8') : undefined);
    });
  });
}
