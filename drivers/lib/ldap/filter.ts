// LDAP search filters built as objects (ldapts' EqualityFilter, SubstringFilter, …), never
// parsed from text a request holds: a value is always one assertion value, so `*)(uid=*`
// matches the literal text and never widens a search. Only an operator's own filters
// (`user_filter`, …) are parsed, once, at Configure.
import {
  AndFilter,
  EqualityFilter,
  type Filter,
  FilterParser,
  OrFilter,
  SubstringFilter,
} from 'ldapts';

/**
 * The longest request value that may reach a filter (a search box's text, a mail, a login
 * id): ldapts parses a filter in time that grows faster than its length, on the driver's
 * only thread, so a 4 MiB value held it for seconds.
 */
export const MAX_VALUE_LENGTH = 256;

/** A request value that cannot go into a filter (INVALID_ARGUMENT). */
export class BadValue extends Error {}

/**
 * `value` when it may go into a filter: at most MAX_VALUE_LENGTH characters, and no control
 * character (a NUL is dropped by OpenLDAP in some assertions, so `mail\0junk` matched the
 * mail alone).
 */
export function requestValue(what: string, value: string): string {
  if (value.length > MAX_VALUE_LENGTH)
    throw new BadValue(
      `${what} is ${value.length} characters long; at most ${MAX_VALUE_LENGTH} are searched`,
    );
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
  if (/[\u0000-\u001f\u007f]/.test(value))
    throw new BadValue(`${what} holds a control character (a NUL, say), which no entry has`);
  return value;
}

/** An attribute name as LDAP allows it (RFC 4512 descr or a numeric OID), or throws. */
export function attribute(name: string): string {
  if (!/^([A-Za-z][A-Za-z0-9-]*|\d+(\.\d+)*)$/.test(name))
    throw new Error(`not an LDAP attribute name: ${JSON.stringify(name)}`);
  return name;
}

/** `(attr=value)`. A Buffer value goes as bytes (a binary id). */
export const equals = (attr: string, value: string | Buffer): Filter =>
  new EqualityFilter({ attribute: attribute(attr), value });

/** `(attr=*value*)`: a substring match. */
export const contains = (attr: string, value: string): Filter =>
  new SubstringFilter({ attribute: attribute(attr), any: [value] });

/** The conjunction of filters; absent parts (an unset user_filter) are left out. */
export function and(...parts: Array<Filter | undefined>): Filter {
  const kept = parts.filter((p): p is Filter => p !== undefined);
  return kept.length === 1 ? kept[0] : new AndFilter({ filters: kept });
}

/** The disjunction of filters. */
export const or = (...parts: Filter[]): Filter =>
  parts.length === 1 ? parts[0] : new OrFilter({ filters: parts });

/**
 * An operator's extra filter (`user_filter`, `group_filter`) parsed as one filter:
 * `objectClass=x` is read as `(objectClass=x)`; unbalanced parentheses, or a second filter
 * after the first, are refused. Undefined when none is set.
 */
export function operatorFilter(filter: string | undefined): Filter | undefined {
  const f = (filter ?? '').trim();
  if (!f) return undefined;
  const wrapped = f.startsWith('(') ? f : `(${f})`;
  const refused = new Error(`not one LDAP filter: ${JSON.stringify(filter)}`);
  let depth = 0;
  for (let i = 0; i < wrapped.length; i++) {
    const c = wrapped[i];
    if (c === '\\') i += 2;
    else if (c === '(') depth++;
    // Closing the outer filter anywhere but at the end would let `a)(b` add a second one.
    else if (c === ')' && (--depth < 0 || (depth === 0 && i !== wrapped.length - 1))) throw refused;
  }
  if (depth !== 0) throw refused;
  // A bad escape or an empty filter fails here, at Configure.
  return FilterParser.parseString(wrapped);
}
