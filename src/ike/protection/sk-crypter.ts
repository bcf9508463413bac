/**
 * Protection of the Encrypted and Authenticated payload (RFC 7296 3.14) and of its fragment form SKF
 * (RFC 7383 2.5), for one direction of one IKE SA.
 *
 * - Plain ciphers (AES-CBC, ...) with an integrity algorithm: the ICV covers the message from the first
 *   byte of the IKE header up to the ICV (RFC 7296 3.14).
 * - AEADs (AES-GCM and AES-CCM RFC 5282, ChaCha20-Poly1305 RFC 7634): no integrity transform; the associated
 *   data is the message up to the IV, i.e. IKE header, any unencrypted payloads and the SK (or SKF) header
 *   (RFC 5282 5.1). keymat skE = key || salt.
 *
 * Padding (RFC 7296 3.14): the sender pads plaintext || Pad Length to the cipher block size with zero bytes;
 * the receiver accepts any pad bytes and any pad length that fits.
 *
 * `open*` never throw: they return `ok: false` with a reason. 'malformed' and 'integrity' are failures before
 * authentication (drop silently); 'syntax' means the message authenticated but its content is broken (an
 * authenticated request gets INVALID_SYNTAX, RFC 7296 2.21.2).
 */
import { createAead, createCipher, createIntegrity } from '../../crypto/index.js';
import { CryptoError } from '../../crypto/types.js';
import type { AeadTransform, CipherTransform, IntegrityTransform, Rng } from '../../crypto/types.js';
import { ParseError } from '../../common/errors.js';
import {
  IKE_HEADER_LENGTH,
  PAYLOAD_HEADER_LENGTH,
  PAYLOAD_LENGTH_OFFSET,
  PAYLOAD_NEXT_OFFSET,
  PayloadType,
} from '../codec/constants.js';
import { encodeHeader } from '../codec/header.js';
import {
  decodeMessage,
  decodePayloads,
  encodePayloads,
  encodedLengthPayloads,
  payloadTypeOf,
} from '../codec/message.js';
import type { IkeHeader, Payload } from '../codec/types.js';

/** SKF body before the IV: Fragment Number(2) Total Fragments(2) (RFC 7383 2.5). */
export const SKF_FRAGMENT_FIELDS_LENGTH = 4;
/** Offset of Total Fragments after the SKF generic header. */
const SKF_TOTAL_OFFSET = 2;
/** Pad Length byte at the end of the plaintext (RFC 7296 3.14). */
const PAD_LENGTH_FIELD = 1;
const MAX_PAYLOAD_LENGTH = 0xffff;

/** Algorithms and keys for one direction: SK_ei/SK_ai for what the initiator sends, SK_er/SK_ar otherwise. */
export interface SkKeys {
  /** Transform ID of the encryption algorithm (EncrId). */
  encrId: number;
  /** Transform ID of the integrity algorithm (IntegId); absent or NONE (0) for AEADs. */
  integId?: number;
  /** SK_e: the cipher key, or key || salt for AEADs (RFC 5282 7.1, RFC 7634 2). */
  skE: Uint8Array;
  /** SK_a: the integrity key; absent for AEADs. */
  skA?: Uint8Array;
}

/** Fragment fields of an SKF payload (RFC 7383 2.5). */
export interface FragmentInfo {
  fragmentNumber: number;
  totalFragments: number;
}

/** Why opening failed. */
export type OpenFailureReason = 'malformed' | 'integrity' | 'syntax';

export interface OpenFailure {
  ok: false;
  reason: OpenFailureReason;
  detail: string;
}

/** A verified and decrypted SK message. */
export interface OpenedMessage {
  ok: true;
  header: IkeHeader;
  /** Payloads before the SK payload (none in RFC 7296 exchanges), SK itself excluded. */
  outerPayloads: Payload[];
  /** Type of the first inner payload (Next Payload of the SK header). */
  firstPayload: number;
  /** The inner payloads, decoded. */
  payloads: Payload[];
  /** The decrypted inner payload bytes, padding removed. */
  plaintext: Buffer;
}

/** A verified and decrypted SKF fragment (RFC 7383 2.6: every fragment is authenticated on its own). */
export interface OpenedFragment extends FragmentInfo {
  ok: true;
  header: IkeHeader;
  /** Next Payload of the SKF header: the first inner payload in fragment 1, 0 in the others. */
  firstPayload: number;
  /** This fragment's share of the inner payload bytes, padding removed. */
  plaintext: Buffer;
}

export type OpenResult = OpenedMessage | OpenFailure;
export type OpenFragmentResult = OpenedFragment | OpenFailure;

/** Seals and opens SK/SKF payloads for one direction of an IKE SA. */
export interface SkCrypter {
  /** Bytes of IV in each SK payload. */
  readonly ivLength: number;
  /** Bytes of ICV at the end of each SK payload. */
  readonly icvLength: number;
  /** Ciphertext alignment (1 for AEADs and counter modes). */
  readonly blockSize: number;
  /** A whole message: header, then SK { inner }. The header's nextPayload and length are recomputed. */
  seal(header: IkeHeader, inner: readonly Payload[]): Buffer;
  /**
   * A whole message around already-encoded inner payload bytes: SK, or SKF when `fragment` is given
   * (then firstPayload is the first inner payload type in fragment 1 and 0 in the others).
   */
  sealPlaintext(header: IkeHeader, firstPayload: number, plaintext: Uint8Array, fragment?: FragmentInfo): Buffer;
  /** Verify and decrypt a message whose last payload is SK; decode the inner payloads. */
  open(message: Buffer): OpenResult;
  /** Verify and decrypt a message whose last payload is SKF. */
  openFragment(message: Buffer): OpenFragmentResult;
  /**
   * Decrypt an SK message WITHOUT checking its ICV, for dissecting captures with known keys (as tcpdump
   * and Wireshark do). Never use it on the protocol path.
   */
  decryptUnverified(message: Buffer): OpenResult;
  /** Length of the sealed message for `plaintextLength` bytes of inner payloads. */
  sealedLength(plaintextLength: number, fragment: boolean): number;
  /** The most inner payload bytes whose sealed message is at most `messageLength` bytes (0 if none fit). */
  plaintextCapacity(messageLength: number, fragment: boolean): number;
}

interface Layout {
  skStart: number;
  ivOff: number;
  ctOff: number;
  icvOff: number;
}

function fail(reason: OpenFailureReason, detail: string): OpenFailure {
  return { ok: false, reason, detail };
}

function describe(e: unknown): string {
  return e instanceof ParseError ? e.message : String(e);
}

class Crypter implements SkCrypter {
  readonly ivLength: number;
  readonly icvLength: number;
  readonly blockSize: number;
  readonly #aead: AeadTransform | undefined;
  readonly #cipher: CipherTransform | undefined;
  readonly #integ: IntegrityTransform | undefined;
  readonly #rng: Rng;

  constructor(keys: SkKeys, rng: Rng) {
    this.#rng = rng;
    const integId = keys.integId ?? 0;
    if (integId === 0) {
      const aead = createAead(keys.encrId, keys.skE);
      if (aead.authOnly) throw new CryptoError(`${aead.name} cannot protect IKE messages`);
      this.#aead = aead;
      this.ivLength = aead.ivLength;
      this.icvLength = aead.icvLength;
      this.blockSize = aead.blockSize;
    } else {
      if (keys.skA === undefined) throw new CryptoError('SK_a is required with an integrity algorithm');
      const cipher = createCipher(keys.encrId, keys.skE);
      const integ = createIntegrity(integId, keys.skA);
      this.#cipher = cipher;
      this.#integ = integ;
      this.ivLength = cipher.ivLength;
      this.icvLength = integ.icvLength;
      this.blockSize = cipher.blockSize;
    }
  }

  #ciphertextLength(plaintextLength: number): number {
    const unpadded = plaintextLength + PAD_LENGTH_FIELD;
    return Math.ceil(unpadded / this.blockSize) * this.blockSize;
  }

  #skHeaderLength(fragment: boolean): number {
    return PAYLOAD_HEADER_LENGTH + (fragment ? SKF_FRAGMENT_FIELDS_LENGTH : 0);
  }

  sealedLength(plaintextLength: number, fragment: boolean): number {
    return (
      IKE_HEADER_LENGTH +
      this.#skHeaderLength(fragment) +
      this.ivLength +
      this.#ciphertextLength(plaintextLength) +
      this.icvLength
    );
  }

  plaintextCapacity(messageLength: number, fragment: boolean): number {
    const room = messageLength - IKE_HEADER_LENGTH - this.#skHeaderLength(fragment) - this.ivLength - this.icvLength;
    const ciphertext = Math.floor(room / this.blockSize) * this.blockSize;
    return Math.max(0, ciphertext - PAD_LENGTH_FIELD);
  }

  seal(header: IkeHeader, inner: readonly Payload[]): Buffer {
    const plaintextLength = encodedLengthPayloads(inner);
    const first = inner[0];
    const firstPayload = first === undefined ? PayloadType.NONE : payloadTypeOf(first);
    return this.#seal(header, firstPayload, plaintextLength, undefined, (out, off) => encodePayloads(inner, out, off));
  }

  sealPlaintext(header: IkeHeader, firstPayload: number, plaintext: Uint8Array, fragment?: FragmentInfo): Buffer {
    return this.#seal(header, firstPayload, plaintext.length, fragment, (out, off) => {
      out.set(plaintext, off);
      return off + plaintext.length;
    });
  }

  #seal(
    header: IkeHeader,
    firstPayload: number,
    plaintextLength: number,
    fragment: FragmentInfo | undefined,
    writePlaintext: (out: Buffer, off: number) => number,
  ): Buffer {
    const isFragment = fragment !== undefined;
    const ctLength = this.#ciphertextLength(plaintextLength);
    const total = this.sealedLength(plaintextLength, isFragment);
    const skLength = total - IKE_HEADER_LENGTH;
    if (skLength > MAX_PAYLOAD_LENGTH) throw new RangeError('SK payload longer than 65535 bytes: fragment it');
    const out = Buffer.alloc(total);
    encodeHeader(header, isFragment ? PayloadType.SKF : PayloadType.SK, total, out, 0);
    const skStart = IKE_HEADER_LENGTH;
    out[skStart + PAYLOAD_NEXT_OFFSET] = firstPayload;
    out.writeUInt16BE(skLength, skStart + PAYLOAD_LENGTH_OFFSET);
    if (isFragment) {
      out.writeUInt16BE(fragment.fragmentNumber, skStart + PAYLOAD_HEADER_LENGTH);
      out.writeUInt16BE(fragment.totalFragments, skStart + PAYLOAD_HEADER_LENGTH + SKF_TOTAL_OFFSET);
    }
    const ivOff = skStart + this.#skHeaderLength(isFragment);
    const ctOff = ivOff + this.ivLength;
    const icvOff = ctOff + ctLength;
    const iv = out.subarray(ivOff, ctOff);
    this.#rng.fill(iv);
    const end = writePlaintext(out, ctOff);
    if (end !== ctOff + plaintextLength) throw new RangeError('inner payloads: length mismatch');
    // Pad bytes stay zero; the last ciphertext byte before the ICV is the Pad Length.
    out[icvOff - 1] = ctLength - plaintextLength - PAD_LENGTH_FIELD;
    if (this.#aead !== undefined) {
      this.#aead.seal(iv, out.subarray(0, ivOff), out, ctOff, ctLength, out, icvOff);
    } else if (this.#cipher !== undefined && this.#integ !== undefined) {
      this.#cipher.encrypt(iv, out, ctOff, ctLength);
      this.#integ.compute([out.subarray(0, icvOff)], out, icvOff);
    }
    return out;
  }

  /** Where the protected parts are, given the SK/SKF payload's body length; or why they do not fit. */
  #layout(message: Buffer, bodyLength: number, fragment: boolean): Layout | string {
    const skStart = message.length - PAYLOAD_HEADER_LENGTH - bodyLength;
    const ivOff = skStart + this.#skHeaderLength(fragment);
    const ctOff = ivOff + this.ivLength;
    const icvOff = message.length - this.icvLength;
    const ctLength = icvOff - ctOff;
    if (ctLength < PAD_LENGTH_FIELD) return 'encrypted payload too short';
    if (ctLength % this.blockSize !== 0) return 'ciphertext not a multiple of the block size';
    return { skStart, ivOff, ctOff, icvOff };
  }

  /** Verify (unless told not to) and decrypt into a copy; returns the plaintext with padding removed. */
  #decrypt(message: Buffer, l: Layout, verify: boolean): Buffer | OpenFailure {
    const iv = message.subarray(l.ivOff, l.ctOff);
    const work = Buffer.from(message.subarray(l.ctOff, l.icvOff));
    if (this.#aead !== undefined) {
      const aad = message.subarray(0, l.ivOff);
      if (!this.#aead.open(iv, aad, work, 0, work.length, message, l.icvOff) && verify) {
        return fail('integrity', 'ICV mismatch');
      }
    } else if (this.#cipher !== undefined && this.#integ !== undefined) {
      if (verify && !this.#integ.verify([message.subarray(0, l.icvOff)], message, l.icvOff)) {
        return fail('integrity', 'ICV mismatch');
      }
      this.#cipher.decrypt(iv, work, 0, work.length);
    }
    const padLength = work[work.length - 1] ?? 0;
    const plaintextLength = work.length - PAD_LENGTH_FIELD - padLength;
    if (plaintextLength < 0) return fail('syntax', `Pad Length ${padLength} exceeds the ciphertext`);
    return work.subarray(0, plaintextLength);
  }

  #openSk(message: Buffer, verify: boolean): OpenResult {
    let decoded;
    try {
      decoded = decodeMessage(message);
    } catch (e) {
      return fail('malformed', describe(e));
    }
    const sk = decoded.payloads[decoded.payloads.length - 1];
    if (sk === undefined || sk.type !== PayloadType.SK) return fail('malformed', 'no SK payload');
    const l = this.#layout(message, sk.data.length, false);
    if (typeof l === 'string') return fail('malformed', l);
    const plaintext = this.#decrypt(message, l, verify);
    if (!Buffer.isBuffer(plaintext)) return plaintext;
    try {
      const payloads = decodePayloads(plaintext, sk.firstPayload, 0, plaintext.length);
      return {
        ok: true,
        header: decoded.header,
        outerPayloads: decoded.payloads.slice(0, -1),
        firstPayload: sk.firstPayload,
        payloads,
        plaintext,
      };
    } catch (e) {
      return fail('syntax', describe(e));
    }
  }

  open(message: Buffer): OpenResult {
    return this.#openSk(message, true);
  }

  decryptUnverified(message: Buffer): OpenResult {
    return this.#openSk(message, false);
  }

  openFragment(message: Buffer): OpenFragmentResult {
    let decoded;
    try {
      decoded = decodeMessage(message);
    } catch (e) {
      return fail('malformed', describe(e));
    }
    const skf = decoded.payloads[decoded.payloads.length - 1];
    if (skf === undefined || skf.type !== PayloadType.SKF) return fail('malformed', 'no SKF payload');
    const l = this.#layout(message, SKF_FRAGMENT_FIELDS_LENGTH + skf.data.length, true);
    if (typeof l === 'string') return fail('malformed', l);
    const plaintext = this.#decrypt(message, l, true);
    if (!Buffer.isBuffer(plaintext)) return plaintext;
    return {
      ok: true,
      header: decoded.header,
      fragmentNumber: skf.fragmentNumber,
      totalFragments: skf.totalFragments,
      firstPayload: skf.firstPayload,
      plaintext,
    };
  }
}

/**
 * An SkCrypter for one direction. IVs come from rng (RFC 7296 3.14: unpredictable for CBC; RFC 5282 and
 * RFC 7634 ask only for uniqueness per key, which 64 random bits give for any realistic IKE SA lifetime).
 * Throws CryptoError for an unsupported algorithm or a wrong key size (a configuration error).
 */
export function createSkCrypter(keys: SkKeys, rng: Rng): SkCrypter {
  return new Crypter(keys, rng);
}
