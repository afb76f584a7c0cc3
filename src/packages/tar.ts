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
const octal = (b: Buffer, at: number, len: number) => parseInt(str(b, at, len).trim() || '0', 8);

/** The entries of an (uncompressed) tar archive; a malformed one throws an Error saying where. */
export function readTar(tar: Buffer): TarEntry[] {
  const out: TarEntry[] = [];
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  for (let at = 0; at + 512 <= tar.length; ) {
    const h = tar.subarray(at, at + 512);
    if (h.every((x) => x === 0)) break;
    const sum = h.reduce((s, x, i) => s + (i >= 148 && i < 156 ? 32 : x), 0);
    if (sum !== octal(h, 148, 8)) throw new Error(`tar header at byte ${at}: bad checksum`);
    const size = octal(h, 124, 12);
    const data = tar.subarray(at + 512, at + 512 + size);
    if (data.length < size) throw new Error(`tar entry at byte ${at}: truncated`);
    at += 512 + Math.ceil(size / 512) * 512;
    const flag = String.fromCharCode(h[156]);
    if (flag === 'x') pax = parsePax(data);
    else if (flag === 'L') longName = str(data, 0, data.length);
    else if (flag === 'K') longLink = str(data, 0, data.length);
    else if (flag !== 'g') {
      const prefix = str(h, 345, 155);
      const path =
        pax.path ??
        longName ??
        (prefix && str(h, 257, 6) === 'ustar' ? `${prefix}/${str(h, 0, 100)}` : str(h, 0, 100));
      const linkname = pax.linkpath ?? longLink ?? str(h, 157, 100);
      out.push({
        path,
        type: TYPES[flag] ?? 'other',
        mode: octal(h, 100, 8) & 0o7777,
        linkname,
        data: TYPES[flag] === 'file' ? Buffer.from(data) : Buffer.alloc(0),
      });
      pax = {};
      longName = longLink = undefined;
    }
  }
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
