// A tar reader and writer for package archives: ustar, plus the pax and GNU long-name
// records that `tar` writes for long paths. Nothing else (sparse files, devices) is needed.

/** One archive entry. `type`: "file", "dir", "symlink", "hardlink" or "other". */
export interface TarEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  /** Permission bits. */
  mode: number;
  /** A link's target. */
  linkname: string;
  /** A file's content (empty for others). */
  data: Buffer;
}

const TYPES: Record<string, TarEntry['type']> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '5': 'dir',
  '2': 'symlink',
  '1': 'hardlink',
};

const str = (b: Buffer, at: number, len: number) => {
  const s = b.subarray(at, at + len);
  const end = s.indexOf(0);
  return s.subarray(0, end < 0 ? len : end).toString('utf8');
};
/** An octal field; NaN unless it is octal digits (a size of "9" or "-1" must not pass as a number). */
const octal = (b: Buffer, at: number, len: number) => {
  const text = str(b, at, len).trim() || '0';
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : Number.NaN;
};

/** An entry's header: a TarEntry without its content, and the content's size. */
export type TarHead = Omit<TarEntry, 'data'> & { size: number };

/** Where one entry's content goes, in the pieces it arrives in. */
export interface TarSink {
  write(chunk: Buffer): void;
  end(): void;
}

/** The most a pax or GNU long-name record may hold: paths, not payloads. */
const MAX_META_BYTES = 1 << 20;

/**
 * A tar reader fed in pieces, so that an archive of any size is read in constant memory:
 * `onEntry` hears each header and returns where that entry's content goes (or nothing, to
 * skip it). Throws an Error saying where on a malformed archive; `done` is true once the
 * end-of-archive block was read (what follows is not read).
 */
export class TarParser {
  done = false;
  #offset = 0;
  #header = Buffer.alloc(0);
  /** Bytes left in the current entry's content, then in its padding. */
  #left = 0;
  #pad = 0;
  #sink?: TarSink;
  #meta?: { flag: string; parts: Buffer[] };
  #pax: Record<string, string> = {};
  #longName?: string;
  #longLink?: string;

  constructor(private readonly onEntry: (head: TarHead) => TarSink | undefined) {}

  push(chunk: Buffer): void {
    for (let at = 0; at < chunk.length && !this.done; ) {
      if (this.#left > 0) {
        const piece = chunk.subarray(at, at + this.#left);
        at += piece.length;
        this.#left -= piece.length;
        if (this.#meta) this.#meta.parts.push(piece);
        else this.#sink?.write(piece);
        if (this.#left === 0) this.#endContent();
      } else if (this.#pad > 0) {
        const skip = Math.min(this.#pad, chunk.length - at);
        at += skip;
        this.#pad -= skip;
      } else {
        const need = 512 - this.#header.length;
        this.#header = Buffer.concat([this.#header, chunk.subarray(at, at + need)]);
        at += Math.min(need, chunk.length - at);
        if (this.#header.length === 512) this.#readHeader();
      }
    }
  }

  /** The input ended: an error if it ended inside an entry. */
  finish(): void {
    if (this.#left > 0 || this.#header.length > 0)
      throw new Error(`tar entry at byte ${this.#offset}: truncated`);
  }

  #readHeader(): void {
    const h = this.#header;
    const at = this.#offset;
    this.#header = Buffer.alloc(0);
    this.#offset += 512;
    if (h.every((x) => x === 0)) {
      this.done = true;
      return;
    }
    const sum = h.reduce((s, x, i) => s + (i >= 148 && i < 156 ? 32 : x), 0);
    if (sum !== octal(h, 148, 8)) throw new Error(`tar header at byte ${at}: bad checksum`);
    const size = octal(h, 124, 12);
    if (!Number.isSafeInteger(size))
      throw new Error(
        `tar header at byte ${at}: size ${JSON.stringify(str(h, 124, 12))} is not octal`,
      );
    const flag = String.fromCharCode(h[156]);
    this.#left = size;
    this.#pad = Math.ceil(size / 512) * 512 - size;
    this.#offset += size + this.#pad;
    this.#sink = undefined;
    this.#meta = undefined;
    if (flag === 'x' || flag === 'L' || flag === 'K' || flag === 'g') {
      if (size > MAX_META_BYTES)
        throw new Error(`tar header at byte ${at}: a ${size}-byte metadata record`);
      this.#meta = { flag, parts: [] };
    } else {
      const prefix = str(h, 345, 155);
      const path =
        this.#pax.path ??
        this.#longName ??
        (prefix && str(h, 257, 6) === 'ustar' ? `${prefix}/${str(h, 0, 100)}` : str(h, 0, 100));
      const type = TYPES[flag] ?? 'other';
      this.#sink = this.onEntry({
        path,
        type,
        mode: octal(h, 100, 8) & 0o7777,
        linkname: this.#pax.linkpath ?? this.#longLink ?? str(h, 157, 100),
        size: type === 'file' ? size : 0,
      });
      this.#pax = {};
      this.#longName = this.#longLink = undefined;
    }
    if (size === 0) this.#endContent();
  }

  #endContent(): void {
    if (this.#meta) {
      const data = Buffer.concat(this.#meta.parts);
      if (this.#meta.flag === 'x') this.#pax = parsePax(data);
      else if (this.#meta.flag === 'L') this.#longName = str(data, 0, data.length);
      else if (this.#meta.flag === 'K') this.#longLink = str(data, 0, data.length);
      this.#meta = undefined;
    } else this.#sink?.end();
    this.#sink = undefined;
  }
}

/** The entries of an (uncompressed) tar archive; a malformed one throws an Error saying where. */
export function readTar(tar: Buffer): TarEntry[] {
  const out: TarEntry[] = [];
  const parser = new TarParser(({ size: _size, ...head }) => {
    const parts: Buffer[] = [];
    return {
      write: (chunk) => void (head.type === 'file' && parts.push(chunk)),
      end: () => void out.push({ ...head, data: Buffer.concat(parts) }),
    };
  });
  parser.push(tar);
  if (!parser.done) parser.finish();
  return out;
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  for (let at = 0; at < data.length; ) {
    const space = data.indexOf(32, at);
    const len = Number(data.subarray(at, space).toString());
    if (!(len > 0) || space < 0) break;
    const [key, ...value] = data
      .subarray(space + 1, at + len - 1)
      .toString('utf8')
      .split('=');
    out[key] = value.join('=');
    at += len;
  }
  return out;
}

/** What {@link writeTar} takes: files, folders and symbolic links (`linkname`). */
export type TarInput = Pick<TarEntry, 'path' | 'type' | 'mode' | 'data'> & { linkname?: string };

/** A ustar archive (paths up to 100 bytes), with fixed times and owners so that packing is reproducible. */
export function writeTar(entries: readonly TarInput[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const name = e.type === 'dir' && !e.path.endsWith('/') ? `${e.path}/` : e.path;
    if (Buffer.byteLength(name) > 100) throw new Error(`tar: path longer than 100 bytes: ${name}`);
    const h = Buffer.alloc(512);
    h.write(name, 0, 'utf8');
    h.write(`${e.mode.toString(8).padStart(7, '0')}\0`, 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(`${e.data.length.toString(8).padStart(11, '0')}\0`, 124);
    h.write('00000000000\0', 136);
    h.write(e.type === 'dir' ? '5' : e.type === 'symlink' ? '2' : '0', 156);
    if (e.linkname) h.write(e.linkname, 157, 'utf8');
    h.write('ustar\x0000', 257);
    h.fill(32, 148, 156);
    h.write(
      `${h
        .reduce((s, x) => s + x, 0)
        .toString(8)
        .padStart(6, '0')}\0 `,
      148,
    );
    parts.push(h, e.data, Buffer.alloc((512 - (e.data.length % 512)) % 512));
  }
  return Buffer.concat([...parts, Buffer.alloc(1024)]);
}
