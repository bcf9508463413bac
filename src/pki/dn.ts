/**
 * Distinguished names in strongSwan's string form: relative distinguished names in encoding order, separated by
 * commas, e.g. `C=CH, O=strongSwan, CN=moon.strongswan.org`. Parsing, DER encoding and decoding, printing, and
 * matching with `*` wildcards (a `*` value matches any value of that attribute, as strongSwan's identities do).
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import { AttributeTypeAndValue, AttributeValue, Name, RelativeDistinguishedName } from '@peculiar/asn1-x509';

/** One attribute of a DN (multi-valued RDNs are flattened in order, as strongSwan prints them). */
export interface DnAttribute {
  readonly oid: string;
  readonly value: string;
}

export class DnError extends Error {
  override readonly name = 'DnError';
}

/** Short names strongSwan prints and accepts (libstrongswan's x501 attribute table), by OID. */
const NAMES: readonly (readonly [string, string])[] = [
  ['C', '2.5.4.6'],
  ['ST', '2.5.4.8'],
  ['L', '2.5.4.7'],
  ['O', '2.5.4.10'],
  ['OU', '2.5.4.11'],
  ['CN', '2.5.4.3'],
  ['SN', '2.5.4.4'],
  ['serialNumber', '2.5.4.5'],
  ['street', '2.5.4.9'],
  ['T', '2.5.4.12'],
  ['D', '2.5.4.13'],
  ['postalCode', '2.5.4.17'],
  ['N', '2.5.4.41'],
  ['G', '2.5.4.42'],
  ['I', '2.5.4.43'],
  ['dnQualifier', '2.5.4.46'],
  ['ID', '2.5.4.45'],
  ['pseudonym', '2.5.4.65'],
  ['E', '1.2.840.113549.1.9.1'],
  ['DC', '0.9.2342.19200300.100.1.25'],
  ['UID', '0.9.2342.19200300.100.1.1'],
];
/** Aliases accepted when parsing. */
const ALIASES: Readonly<Record<string, string>> = {
  email: '1.2.840.113549.1.9.1',
  emailaddress: '1.2.840.113549.1.9.1',
  s: '2.5.4.8',
  sn: '2.5.4.4',
  surname: '2.5.4.4',
  title: '2.5.4.12',
  givenname: '2.5.4.42',
};
const IA5_OIDS = new Set(['1.2.840.113549.1.9.1', '0.9.2342.19200300.100.1.25']);

function oidOfName(name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [n, oid] of NAMES) if (n.toLowerCase() === lower) return oid;
  if (ALIASES[lower] !== undefined) return ALIASES[lower];
  return /^\d+(\.\d+)+$/.test(name) ? name : undefined;
}

function nameOfOid(oid: string): string {
  for (const [n, o] of NAMES) if (o === oid) return n;
  return oid;
}

/** Does this identity text look like a DN (`C=CH, O=...`, or `/C=CH/O=...`)? */
export function looksLikeDn(text: string): boolean {
  return /^\s*\/?[A-Za-z][A-Za-z0-9.]*\s*=/.test(text);
}

/** Split on unescaped separators (`,` or, for the OpenSSL-style leading-slash form, `/`). */
function splitRdns(text: string): string[] {
  const t = text.trim();
  const slash = t.startsWith('/');
  const sep = slash ? '/' : ',';
  const body = slash ? t.slice(1) : t;
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < body.length; i++) {
    const ch = body[i] as string;
    if (ch === '\\' && i + 1 < body.length) {
      cur += body[i + 1];
      i++;
    } else if (ch === sep) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

/** `C=CH, O=strongSwan, CN=moon` -> attributes in order. Throws DnError naming the bad part. */
export function parseDn(text: string): DnAttribute[] {
  const out: DnAttribute[] = [];
  for (const part of splitRdns(text)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new DnError(`'${part}' in DN '${text}' is not NAME=value`);
    const name = part.slice(0, eq).trim();
    const oid = oidOfName(name);
    if (oid === undefined)
      throw new DnError(`unknown attribute '${name}' in DN '${text}' (use C, ST, L, O, OU, CN, E, DC, UID, ...)`);
    out.push({ oid, value: part.slice(eq + 1).trim() });
  }
  if (out.length === 0) throw new DnError(`empty DN '${text}'`);
  return out;
}

/** DER of the Name: one attribute per RDN; C as PrintableString, E and DC as IA5String, others UTF8String. */
export function encodeDn(attrs: readonly DnAttribute[]): Buffer {
  const name = new Name(
    attrs.map((a) => {
      const value = new AttributeValue(
        a.oid === '2.5.4.6'
          ? { printableString: a.value }
          : IA5_OIDS.has(a.oid)
            ? { ia5String: a.value }
            : { utf8String: a.value },
      );
      return new RelativeDistinguishedName([new AttributeTypeAndValue({ type: a.oid, value })]);
    }),
  );
  return Buffer.from(AsnConvert.serialize(name));
}

/** Attributes of a DER Name (throws on bad DER). */
export function decodeDn(der: Uint8Array): DnAttribute[] {
  const name = AsnConvert.parse(der, Name);
  return nameAttributes(name);
}

export function nameAttributes(name: Name): DnAttribute[] {
  const out: DnAttribute[] = [];
  for (const rdn of name) for (const atv of rdn) out.push({ oid: atv.type, value: atv.value.toString() });
  return out;
}

/** strongSwan's printed form: `C=CH, O=strongSwan, CN=moon.strongswan.org`. */
export function formatDn(attrs: readonly DnAttribute[]): string {
  return attrs.map((a) => `${nameOfOid(a.oid)}=${a.value}`).join(', ');
}

/**
 * Does `actual` match `pattern`? Same attributes in the same order; values compare case-insensitively and a
 * pattern value `*` matches any value.
 */
export function dnMatches(pattern: readonly DnAttribute[], actual: readonly DnAttribute[]): boolean {
  if (pattern.length !== actual.length) return false;
  return pattern.every((p, i) => {
    const a = actual[i];
    return a !== undefined && a.oid === p.oid && (p.value === '*' || p.value.toLowerCase() === a.value.toLowerCase());
  });
}

/** How many wildcards a pattern has (fewer is a better match). */
export function dnWildcards(pattern: readonly DnAttribute[]): number {
  return pattern.filter((p) => p.value === '*').length;
}
