/**
 * IKE message fragmentation (RFC 7383). Used only when both peers sent IKEV2_FRAGMENTATION_SUPPORTED in
 * IKE_SA_INIT (2.3), and only for messages protected by SK (2.5).
 *
 * Sending: the inner payload bytes are cut into chunks, each sealed in its own SKF payload with its own IV
 * and ICV; Fragment Number counts from 1 and every fragment carries Total Fragments (2.5).
 * Receiving: every fragment is authenticated on its own first (SkCrypter.openFragment), then handed to a
 * FragmentReassembler (2.6). Keep one reassembler per IKE SA and per direction (requests, responses).
 */
import { ParseError } from '../../common/errors.js';
import { PayloadType } from '../codec/constants.js';
import { decodePayloads, encodePayloads, encodedLengthPayloads, payloadTypeOf } from '../codec/message.js';
import type { IkeHeader, Payload } from '../codec/types.js';
import type { OpenedFragment, SkCrypter } from './sk-crypter.js';

/** Total Fragments is a 16-bit field (RFC 7383 2.5). */
const MAX_TOTAL_FRAGMENTS = 0xffff;

/**
 * Seal a message for sending: one SK message when fragmentation is off or the message fits in
 * maxMessageLength bytes, otherwise SKF fragments each at most maxMessageLength bytes long.
 * maxMessageLength counts the IKE message only (not IP, UDP or the non-ESP marker). RangeError if even
 * one byte of payload cannot fit in a fragment of that size.
 */
export function sealMessage(
  crypter: SkCrypter,
  header: IkeHeader,
  inner: readonly Payload[],
  options: { fragmentation: boolean; maxMessageLength: number },
): Buffer[] {
  const plaintextLength = encodedLengthPayloads(inner);
  if (!options.fragmentation || crypter.sealedLength(plaintextLength, false) <= options.maxMessageLength) {
    return [crypter.seal(header, inner)];
  }
  const plaintext = Buffer.alloc(plaintextLength);
  encodePayloads(inner, plaintext, 0);
  const first = inner[0];
  return fragmentPlaintext(
    crypter,
    header,
    first === undefined ? PayloadType.NONE : payloadTypeOf(first),
    plaintext,
    options.maxMessageLength,
  );
}

/** Cut encoded inner payloads into SKF fragments of at most maxMessageLength bytes each (RFC 7383 2.5). */
export function fragmentPlaintext(
  crypter: SkCrypter,
  header: IkeHeader,
  firstPayload: number,
  plaintext: Buffer,
  maxMessageLength: number,
): Buffer[] {
  const chunk = crypter.plaintextCapacity(maxMessageLength, true);
  if (chunk < 1) throw new RangeError(`no room for payload in a ${maxMessageLength}-byte fragment`);
  const total = Math.max(1, Math.ceil(plaintext.length / chunk));
  if (total > MAX_TOTAL_FRAGMENTS) throw new RangeError('message needs more than 65535 fragments');
  const fragments: Buffer[] = [];
  for (let i = 0; i < total; i++) {
    const part = plaintext.subarray(i * chunk, Math.min(plaintext.length, (i + 1) * chunk));
    fragments.push(
      crypter.sealPlaintext(header, i === 0 ? firstPayload : PayloadType.NONE, part, {
        fragmentNumber: i + 1,
        totalFragments: total,
      }),
    );
  }
  return fragments;
}

/** Bounds on what a reassembler keeps. */
export interface ReassemblyLimits {
  /** Largest Total Fragments accepted. */
  maxFragments: number;
  /** Largest reassembled inner payload size in bytes. */
  maxBytes: number;
}

/** Defaults: a 64 KiB message in fragments of at least ~1 KiB (RFC 7383 2.5.1 suggests 1280-byte IPv6 ones). */
export const DEFAULT_REASSEMBLY_LIMITS: Readonly<ReassemblyLimits> = { maxFragments: 64, maxBytes: 65535 };

/** Why a fragment was not taken. */
export type FragmentRejectReason =
  | 'badNumber' // Fragment Number 0, Total 0, or Number > Total (RFC 7383 2.5)
  | 'tooMany' // Total Fragments over the limit
  | 'tooLarge' // reassembled size over the limit
  | 'duplicate' // this fragment number is already held (ignored, RFC 7383 2.6)
  | 'staleTotal' // Total Fragments smaller than the fragments held (RFC 7383 2.6)
  | 'oldMessage' // message ID older than the one being reassembled
  | 'syntax'; // all fragments arrived but the inner payloads do not decode

export type ReassemblyResult =
  | { status: 'incomplete'; received: number; totalFragments: number }
  /** A fragment of the message completed last: a retransmission (RFC 7383 2.6.1; answer when number is 1). */
  | { status: 'retransmit'; messageId: number; fragmentNumber: number }
  | { status: 'complete'; messageId: number; firstPayload: number; plaintext: Buffer; payloads: Payload[] }
  | { status: 'rejected'; reason: FragmentRejectReason; detail: string };

function reject(reason: FragmentRejectReason, detail: string): ReassemblyResult {
  return { status: 'rejected', reason, detail };
}

/**
 * Collects the authenticated fragments of one message at a time (RFC 7383 2.6). A fragment of a newer
 * message ID drops what was held; a fragment with a larger Total Fragments restarts reassembly (the peer
 * re-fragmented for a smaller MTU, 2.5.2); a smaller one is ignored.
 */
export class FragmentReassembler {
  readonly #limits: ReassemblyLimits;
  #messageId = -1;
  #total = 0;
  #bytes = 0;
  #firstPayload = PayloadType.NONE as number;
  #parts: (Buffer | undefined)[] = [];
  #received = 0;
  #completed = false;

  constructor(limits: ReassemblyLimits = DEFAULT_REASSEMBLY_LIMITS) {
    this.#limits = { ...limits };
  }

  /** Message ID being reassembled, or undefined. */
  get messageId(): number | undefined {
    return this.#messageId < 0 ? undefined : this.#messageId;
  }

  /** Fragment numbers still missing for the message being reassembled. */
  missing(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.#total; i++) if (this.#parts[i] === undefined) out.push(i + 1);
    return out;
  }

  /** Drop everything held. */
  reset(): void {
    this.#messageId = -1;
    this.#total = 0;
    this.#bytes = 0;
    this.#firstPayload = PayloadType.NONE;
    this.#parts = [];
    this.#received = 0;
    this.#completed = false;
  }

  #start(messageId: number, total: number): void {
    this.reset();
    this.#messageId = messageId;
    this.#total = total;
    this.#parts = new Array<Buffer | undefined>(total).fill(undefined);
  }

  /** Add one fragment that SkCrypter.openFragment verified. */
  add(fragment: OpenedFragment): ReassemblyResult {
    const { fragmentNumber: num, totalFragments: total } = fragment;
    const messageId = fragment.header.messageId;
    if (total < 1 || num < 1 || num > total) return reject('badNumber', `fragment ${num} of ${total}`);
    if (total > this.#limits.maxFragments) {
      return reject('tooMany', `${total} fragments, limit ${this.#limits.maxFragments}`);
    }
    if (this.#messageId >= 0 && messageId < this.#messageId) {
      return reject('oldMessage', `message ${messageId} while reassembling ${this.#messageId}`);
    }
    if (this.#completed && messageId === this.#messageId) {
      return { status: 'retransmit', messageId, fragmentNumber: num };
    }
    if (messageId !== this.#messageId || total > this.#total) {
      this.#start(messageId, total);
    } else if (total < this.#total) {
      return reject('staleTotal', `Total Fragments ${total} < ${this.#total}`);
    }
    if (this.#parts[num - 1] !== undefined) return reject('duplicate', `fragment ${num} already held`);
    if (this.#bytes + fragment.plaintext.length > this.#limits.maxBytes) {
      this.reset();
      return reject('tooLarge', `reassembled message over ${this.#limits.maxBytes} bytes`);
    }
    // Copy: the fragment's bytes may live in a datagram buffer the caller reuses.
    this.#parts[num - 1] = Buffer.from(fragment.plaintext);
    this.#bytes += fragment.plaintext.length;
    this.#received += 1;
    if (num === 1) this.#firstPayload = fragment.firstPayload;
    if (this.#received < this.#total) {
      return { status: 'incomplete', received: this.#received, totalFragments: this.#total };
    }
    return this.#finish();
  }

  #finish(): ReassemblyResult {
    const plaintext = Buffer.alloc(this.#bytes);
    let off = 0;
    for (const part of this.#parts) {
      if (part === undefined) continue;
      plaintext.set(part, off);
      off += part.length;
    }
    const messageId = this.#messageId;
    const firstPayload = this.#firstPayload;
    this.reset();
    this.#messageId = messageId;
    this.#completed = true;
    try {
      const payloads = decodePayloads(plaintext, firstPayload, 0, plaintext.length);
      return { status: 'complete', messageId, firstPayload, plaintext, payloads };
    } catch (e) {
      return reject('syntax', e instanceof ParseError ? e.message : String(e));
    }
  }
}
