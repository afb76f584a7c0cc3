import { fail, isTable, ok, within, type Parsed } from './parsers.js';

/**
 * One config key: its TOML name, the field it fills, its parser, its default and its doc.
 * A table of these drives validation, the unknown-key check, the parsed type and the docs.
 */
export interface Key<C> {
  /** The name in the TOML file. */
  readonly toml: string;
  /** The field of the parsed object it fills. */
  readonly field: string;
  /** The nested object that field sits in, when several keys build one value (`restart`). */
  readonly group?: string;
  /** Reads the value; the context carries what the value alone cannot tell (the folder, the name). */
  readonly parse: (value: unknown, ctx: C) => Parsed<unknown>;
  /**
   * The raw value parsed when the key is absent, or a function of the context giving it.
   * Without a default (and not `required`) an absent key leaves the field undefined.
   */
  readonly default?: unknown;
  /** Makes the key mandatory; the text is what an absent key is told it should have been. */
  readonly required?: string;
  /** The default as the docs show it, when `default` is computed or applied elsewhere. */
  readonly defaultDoc?: string;
  /** One line for the docs. */
  readonly doc: string;
}

// Any context: tables differ in theirs, and these types only read fields, never call parse.
type AnyKey = Key<any>;
type Value<K> = K extends { parse: (...a: never[]) => infer R }
  ? R extends { ok: true; value: infer T }
    ? T
    : never
  : never;
type Always = { default: unknown } | { required: string };
type Flat<K extends AnyKey> = { [E in Extract<K, Always> as E['field']]: Value<E> } & {
  [E in Exclude<K, Always> as E['field']]?: Value<E>;
};

/**
 * The object a key table parses into: a field per key, optional when the key has neither a
 * default nor `required`, and grouped keys gathered into an object under their group.
 */
export type Fields<Ks extends readonly AnyKey[]> = Flat<Exclude<Ks[number], { group: string }>> & {
  [G in Extract<Ks[number], { group: string }>['group']]: Flat<Extract<Ks[number], { group: G }>>;
};

/**
 * Parses a table against its keys: refuses a non-table and unknown keys (listing the known
 * ones), applies defaults, and reports the first bad value with its key path.
 */
export function parseTable<C, const Ks extends readonly Key<C>[]>(
  keys: Ks,
  raw: unknown,
  ctx: C,
): Parsed<Fields<Ks>> {
  if (!isTable(raw)) return fail('a table', raw);
  const known = keys.map((k) => k.toml);
  for (const [name, value] of Object.entries(raw)) {
    if (!known.includes(name)) {
      const near = closest(name, known);
      const hint = near ? `did you mean "${near}"? ` : '';
      return within(name, fail(`no such key (${hint}known: ${known.join(', ')})`, value));
    }
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const value = raw[k.toml] ?? (typeof k.default === 'function' ? k.default(ctx) : k.default);
    if (value === undefined) {
      if (k.required !== undefined) return within(k.toml, fail(k.required));
      continue;
    }
    const parsed = k.parse(value, ctx);
    if (!parsed.ok) return within(k.toml, parsed);
    const into = k.group === undefined ? out : ((out[k.group] ??= {}) as Record<string, unknown>);
    into[k.field] = parsed.value;
  }
  return ok(out as Fields<Ks>);
}

/** The keys as a markdown table (key, default, doc): the config reference in README.md. */
export function keyTable(keys: readonly AnyKey[]): string {
  const shown = (k: AnyKey) =>
    k.defaultDoc ??
    (k.required !== undefined
      ? 'required'
      : k.default === undefined || typeof k.default === 'function'
        ? 'none'
        : `\`${JSON.stringify(k.default)}\``);
  return [
    '| key | default | what |',
    '|---|---|---|',
    ...keys.map((k) => `| \`${k.toml}\` | ${shown(k)} | ${k.doc} |`),
  ].join('\n');
}

/** The known key a typo most likely meant: at most two edits away (Levenshtein), if any. */
function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    const d = distance(name, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++)
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}
