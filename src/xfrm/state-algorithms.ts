/**
 * Checks the algorithm arguments of `state add` and resolves them to IANA transform ids with their keymat:
 * ESP takes one `aead`, or one `enc` with at most one `auth`/`auth-trunc`; AH takes one `auth`/`auth-trunc`.
 * The AEAD's ICV length picks the transform (RFC 4106 8 / RFC 4309: 64, 96, 128 bits); key lengths are checked
 * against RFC 7296 2.17 keymat sizes (key || salt for AEADs and AES-CTR).
 */
import type { EncrId, IntegId } from '../crypto/ids.js';
import { EncrId as Encr } from '../crypto/ids.js';
import {
  XFRM_AEAD_ALGORITHMS,
  XFRM_AUTH_ALGORITHMS,
  XFRM_ENC_ALGORITHMS,
  XFRM_REFUSED_ALGORITHMS,
  encKeymatLengths,
  findAead,
  findAuth,
  findEnc,
  integKeyLength,
} from './xfrm-algorithms.js';
import type { XfrmAlgorithm, XfrmStateAdd } from './xfrm-command.js';
import { XfrmError } from './xfrm-error.js';

export interface ResolvedEnc {
  readonly kind: 'aead' | 'enc';
  readonly id: EncrId;
  /** key || salt where the transform has a salt. */
  readonly key: Uint8Array;
  /** The kernel's canonical name (what `state list` shows). */
  readonly xfrmName: string;
  /** AEAD ICV length in bits. */
  readonly icvBits?: number;
  /** Salt bytes at the end of `key`. */
  readonly saltLength: number;
}

export interface ResolvedInteg {
  readonly id: IntegId;
  readonly key: Uint8Array;
  readonly xfrmName: string;
  readonly truncBits: number;
}

export interface ResolvedStateAlgorithms {
  readonly enc?: ResolvedEnc;
  readonly integ?: ResolvedInteg;
}

function names(list: readonly { name: string }[]): string {
  return list.map((a) => `'${a.name}'`).join(', ');
}

function unknown(a: XfrmAlgorithm, known: string): XfrmError {
  const refused = XFRM_REFUSED_ALGORITHMS[a.name];
  if (refused !== undefined) return new XfrmError(a.type, `algorithm '${a.name}' is not supported`, a.at, refused);
  return new XfrmError(a.type, `unknown algorithm '${a.name}'`, a.at, `use one of ${known}`);
}

function byteList(lengths: readonly number[]): string {
  if (lengths.length === 1) return `${lengths[0]}`;
  return `${lengths.slice(0, -1).join(', ')} or ${lengths[lengths.length - 1]}`;
}

function checkEncKey(a: XfrmAlgorithm, name: string, id: EncrId, saltLength: number, rfc: string): void {
  const allowed = encKeymatLengths(id);
  if (allowed.includes(a.key.length)) return;
  const salt = saltLength > 0 ? ` (key + ${saltLength}-byte salt, ${rfc})` : ` (${rfc})`;
  const hint =
    id === Encr.ENCR_NULL
      ? `write ${a.type} ${name} ""`
      : `write the key as 0x followed by ${byteList(allowed.map((n) => 2 * n))} hex digits`;
  throw new XfrmError(
    a.type,
    `key is ${a.key.length} bytes; '${name}' takes ${byteList(allowed)} bytes${salt}`,
    a.at,
    hint,
  );
}

function resolveAead(a: XfrmAlgorithm): ResolvedEnc {
  const info = findAead(a.name);
  if (info === undefined) throw unknown(a, names(XFRM_AEAD_ALGORITHMS));
  const bits = a.bits ?? 0;
  const id = info.icvBits[bits];
  if (id === undefined) {
    const ok = Object.keys(info.icvBits).join(', ');
    throw new XfrmError('aead', `ICV length ${bits} bits is not defined for '${info.name}'`, a.at, `use ${ok}`);
  }
  checkEncKey(a, info.name, id, info.saltLength, info.rfc);
  return { kind: 'aead', id, key: a.key, xfrmName: info.name, icvBits: bits, saltLength: info.saltLength };
}

function resolveEnc(a: XfrmAlgorithm): ResolvedEnc {
  const info = findEnc(a.name);
  if (info === undefined) {
    if (findAead(a.name) !== undefined) {
      throw new XfrmError('enc', `'${a.name}' is an AEAD`, a.at, `write aead '${a.name}' KEY ICV-BITS`);
    }
    throw unknown(a, names(XFRM_ENC_ALGORITHMS));
  }
  checkEncKey(a, info.name, info.encrId, info.saltLength, info.rfc);
  return { kind: 'enc', id: info.encrId, key: a.key, xfrmName: info.name, saltLength: info.saltLength };
}

function resolveAuth(a: XfrmAlgorithm): ResolvedInteg {
  const info = findAuth(a.name);
  if (info === undefined) throw unknown(a, names(XFRM_AUTH_ALGORITHMS));
  const bits = a.type === 'auth' ? info.defaultTruncBits : (a.bits ?? 0);
  if (bits !== info.truncBits) {
    const problem =
      a.type === 'auth'
        ? `Linux truncates '${info.name}' to ${bits} bits by default, which no IANA transform uses`
        : `'${info.name}' truncated to ${bits} bits is not supported`;
    throw new XfrmError(a.type, problem, a.at, `write auth-trunc '${info.name}' KEY ${info.truncBits} (${info.rfc})`);
  }
  const keyLength = integKeyLength(info.integId) ?? 0;
  if (a.key.length !== keyLength) {
    throw new XfrmError(
      a.type,
      `key is ${a.key.length} bytes; '${info.name}' takes ${keyLength} bytes (${info.rfc})`,
      a.at,
      `write the key as 0x followed by ${2 * keyLength} hex digits`,
    );
  }
  return { id: info.integId, key: a.key, xfrmName: info.name, truncBits: bits };
}

/** Resolve and check the algorithms of a `state add`. Throws XfrmError at the offending argument. */
export function resolveStateAlgorithms(cmd: XfrmStateAdd): ResolvedStateAlgorithms {
  let enc: ResolvedEnc | undefined;
  let integ: ResolvedInteg | undefined;
  let encAt: XfrmAlgorithm | undefined;
  for (const a of cmd.algorithms) {
    if (a.type === 'aead' || a.type === 'enc') {
      if (cmd.proto === 'ah') {
        throw new XfrmError(a.type, 'AH has no encryption (RFC 4302)', a.at, `remove ${a.type} or use proto esp`);
      }
      if (enc !== undefined) {
        throw new XfrmError(
          a.type,
          `an SA takes one encryption algorithm; '${encAt!.type}' was given already`,
          a.at,
          'remove one',
        );
      }
      if (a.type === 'aead' && integ !== undefined) {
        throw new XfrmError(
          'aead',
          'an AEAD takes no separate auth algorithm (RFC 4106 4)',
          a.at,
          'remove auth/auth-trunc',
        );
      }
      enc = a.type === 'aead' ? resolveAead(a) : resolveEnc(a);
      encAt = a;
    } else {
      if (integ !== undefined) throw new XfrmError(a.type, 'an SA takes one auth algorithm', a.at, 'remove one');
      if (enc?.kind === 'aead') {
        throw new XfrmError(a.type, 'an AEAD takes no separate auth algorithm (RFC 4106 4)', a.at, `remove ${a.type}`);
      }
      integ = resolveAuth(a);
    }
  }
  const at = cmd.positions['proto'];
  if (cmd.proto === 'esp' && enc === undefined) {
    throw new XfrmError('proto', 'ESP needs enc or aead', at, "add e.g. aead 'rfc4106(gcm(aes))' KEY 128");
  }
  if (cmd.proto === 'ah' && integ === undefined) {
    throw new XfrmError(
      'proto',
      'AH needs an auth or auth-trunc algorithm',
      at,
      "add e.g. auth-trunc 'hmac(sha256)' KEY 128",
    );
  }
  if (enc?.id === Encr.ENCR_NULL && integ === undefined) {
    throw new XfrmError(
      'enc',
      'NULL encryption needs an auth algorithm (RFC 4303 3.2)',
      encAt!.at,
      "add auth-trunc 'hmac(sha256)' KEY 128",
    );
  }
  return { ...(enc ? { enc } : {}), ...(integ ? { integ } : {}) };
}
