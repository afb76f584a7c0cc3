import type { Readable } from 'node:stream';

/** go-plugin's host reads stderr with a 64 KiB line buffer; longer lines are cut there too. */
export const MAX_LINE = 64 * 1024;

/**
 * Calls `onLine` for each line of `stream` (without the newline). A line longer than
 * `maxLine` is delivered cut, marked with `…`, and the rest of it skipped, so a driver that
 * never writes a newline cannot grow the host's memory.
 */
export function readLines(
  stream: Readable,
  onLine: (line: string) => void,
  maxLine = MAX_LINE,
): void {
  let pending = '';
  let skipping = false;
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    let start = 0;
    for (let nl = chunk.indexOf('\n'); nl !== -1; nl = chunk.indexOf('\n', start)) {
      const piece = chunk.slice(start, nl);
      start = nl + 1;
      if (skipping) {
        skipping = false;
        continue;
      }
      onLine((pending + piece).replace(/\r$/, ''));
      pending = '';
    }
    if (skipping) return;
    pending += chunk.slice(start);
    if (pending.length > maxLine) {
      onLine(`${pending.slice(0, maxLine)}…`);
      pending = '';
      skipping = true;
    }
  });
  stream.on('end', () => {
    if (pending && !skipping) onLine(pending);
  });
}

/** The last lines of a stream, kept for error messages. */
export class Tail {
  private readonly lines: string[] = [];
  constructor(
    private readonly maxLines = 20,
    private readonly maxLength = 500,
  ) {}

  push(line: string): void {
    this.lines.push(line.length > this.maxLength ? `${line.slice(0, this.maxLength)}…` : line);
    if (this.lines.length > this.maxLines) this.lines.shift();
  }

  get(): string[] {
    return [...this.lines];
  }
}
