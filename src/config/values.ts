/**
 * strongSwan's value formats for swanctl.conf, as its vici plugin reads them (swanctl.conf(5), TIME FORMATS, and
 * the value descriptions of each key). Each parser returns the value or throws ValueError; the caller attaches the
 * file:line of the key.
 */

/** A value that does not fit its key's format; carries the fix. */
export class ValueError extends Error {
  override readonly name = 'ValueError';
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.hint = hint;
  }
}

/**
 * Leading unsigned integer the way C's strtoul(s, &end, 0) reads it: `0x` hex, a leading `0` octal, else decimal.
 * Returns the number and the rest of the string; throws when there are no digits or the value is not a safe integer.
 */
export function readCUnsigned(s: string): { value: number; rest: string } {
  const m = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(s);
  if (m === null) throw new ValueError(`'${s}' is not a number`, 'write a decimal number such as 3600');
  const digits = m[1] as string;
  const value =
    digits.length > 1 && digits.startsWith('0') && !/^0[xX]/.test(digits)
      ? parseInt(digits.slice(1), 8)
      : Number(digits);
  if (!Number.isSafeInteger(value)) throw new ValueError(`'${s}' is too large`, 'use a smaller number');
  return { value, rest: s.slice(digits.length) };
}

/** A whole string as an unsigned integer (strtoul base 0), at most `max`. */
export function parseUint(s: string, max: number, what = 'number'): number {
  const t = s.trim();
  const { value, rest } = readCUnsigned(t);
  if (rest !== '') throw new ValueError(`'${s}' is not a ${what}`, 'write digits only, e.g. 32');
  if (value > max) throw new ValueError(`${what} ${value} is out of range`, `use 0 to ${max}`);
  return value;
}

const TIME_UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400 };

/** A duration in seconds: a number with an optional s, m, h or d suffix (any case, spaces allowed before it). */
export function parseTimeSec(s: string): number {
  const { value, rest } = readCUnsigned(s.trim());
  const unit = rest.trimStart();
  if (unit === '') return value;
  const mult = TIME_UNITS[unit.toLowerCase()];
  if (mult === undefined) {
    throw new ValueError(`'${s}' is not a time`, 'write seconds, or a number with s, m, h or d, e.g. 4h or 90m');
  }
  return value * mult;
}

const BYTE_UNITS: Readonly<Record<string, number>> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** A byte count: a number with an optional k, m or g suffix (powers of 1024, any case). */
export function parseBytes(s: string): number {
  const { value, rest } = readCUnsigned(s.trim());
  const unit = rest.trimStart();
  if (unit === '') return value;
  const mult = BYTE_UNITS[unit.toLowerCase()];
  if (mult === undefined) {
    throw new ValueError(`'${s}' is not a byte count`, 'write bytes, or a number with k, m or g, e.g. 500m');
  }
  const out = value * mult;
  if (!Number.isSafeInteger(out)) throw new ValueError(`'${s}' is too large`, 'use a smaller byte count');
  return out;
}

const BOOLEANS: Readonly<Record<string, boolean>> = {
  yes: true,
  true: true,
  enabled: true,
  '1': true,
  no: false,
  false: false,
  disabled: false,
  '0': false,
};

/** yes/true/enabled/1 or no/false/disabled/0, any case. */
export function parseBool(s: string): boolean {
  const v = BOOLEANS[s.trim().toLowerCase()];
  if (v === undefined) throw new ValueError(`'${s}' is not a boolean`, 'write yes or no');
  return v;
}

/** One of a fixed set of words (any case); `aliases` maps other accepted spellings to a canonical word. */
export function parseEnum<T extends string>(
  s: string,
  words: readonly T[],
  aliases: Readonly<Record<string, T>> = {},
): T {
  const v = s.trim().toLowerCase();
  const hit = words.find((w) => w === v) ?? aliases[v];
  if (hit === undefined) {
    throw new ValueError(`'${s}' is not allowed here`, `use one of: ${words.join(', ')}`);
  }
  return hit;
}

/** A comma-separated list, items trimmed of spaces and tabs, empty items dropped (as swanctl tokenizes lists). */
export function splitList(s: string): string[] {
  return s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
}

/** A secret value: `0x` hex, `0s` base64 (prefix in any case), otherwise the text's UTF-8 bytes. */
export function parseSecret(s: string): Uint8Array {
  const prefix = s.slice(0, 2).toLowerCase();
  if (prefix === '0x') {
    const hex = s.slice(2);
    if (hex.length === 0 || hex.length % 2 !== 0 || /[^0-9a-fA-F]/.test(hex)) {
      throw new ValueError('the 0x secret is not valid hex', 'use an even number of hex digits after 0x');
    }
    return new Uint8Array(Buffer.from(hex, 'hex'));
  }
  if (prefix === '0s') {
    const b64 = s.slice(2);
    if (b64.length === 0 || b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
      throw new ValueError('the 0s secret is not valid base64', 'use standard base64 (A-Z a-z 0-9 + /, = padding)');
    }
    return new Uint8Array(Buffer.from(b64, 'base64'));
  }
  if (s.length === 0) throw new ValueError('the secret is empty', 'write secret = "..." with the shared key');
  return new Uint8Array(Buffer.from(s, 'utf8'));
}
