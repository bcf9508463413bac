/**
 * The AH ICV input and its computation (RFC 4302 3.3.3): the IP header (and IPv6 extension headers in front
 * of AH) with mutable fields zeroed or predicted, the AH with its IV and ICV zeroed (any padding after them
 * is included as sent, RFC 4302 3.3.3.2.1; we send zeros), the payload, and,
 * with extended sequence numbers, the high-order 32 bits of the sequence number appended after the payload
 * (RFC 4302 2.5.1, 3.3.3.5: included in the computation, never sent).
 *
 * The headers are copied into a per-SA scratch buffer and prepared there, so the packet is not touched until
 * the ICV is written (outbound) or has verified (inbound). The payload is hashed where it lies.
 */

import type { IntegrityTransform } from '../crypto/types.js';
import { writeU32 } from '../common/ip.js';
import { AH_ICV_FIELD_OFFSET } from './ah-header.js';
import { zeroIpv4MutableFields, zeroIpv6MutableFields } from './mutable-fields.js';

const TWO_32 = 0x1_0000_0000;
/** Initial scratch size; grows (rarely: long IPv6 extension header chains) to the largest header seen. */
const INITIAL_SCRATCH = 256;
const SEQ_HIGH_LENGTH = 4;

/** One SA's ICV machinery: the bound integrity transform plus reusable buffers. Not shared between SAs. */
export class AhIcv {
  readonly integrity: IntegrityTransform;
  readonly esn: boolean;
  /** Per-packet IV length (8 for AES-GMAC, RFC 4543; else 0). */
  readonly ivLength: number;
  readonly icvLength: number;
  /** IV of the packet being processed (RFC 4543: sent in the ICV field, fed to GMAC as the nonce's IV). */
  readonly iv: Buffer;
  private scratch: Buffer = Buffer.alloc(INITIAL_SCRATCH);
  private readonly seqHigh = Buffer.alloc(SEQ_HIGH_LENGTH);
  private readonly chunks2: Uint8Array[] = [this.seqHigh, this.seqHigh];
  private readonly chunks3: Uint8Array[] = [this.seqHigh, this.seqHigh, this.seqHigh];

  constructor(integrity: IntegrityTransform, esn: boolean) {
    this.integrity = integrity;
    this.esn = esn;
    this.ivLength = integrity.ivLength;
    this.icvLength = integrity.icvLength;
    this.iv = Buffer.alloc(this.ivLength);
  }

  /** Where the ICV proper starts relative to the AH (after the IV, if any). */
  get icvOffset(): number {
    return AH_ICV_FIELD_OFFSET + this.ivLength;
  }

  /**
   * Build the ICV input for the packet buf[ipOff, end) whose AH of `ahLen` bytes sits at `ahOff`, for full
   * sequence number `seq`, and return the chunk list, or null if the headers in front of AH are malformed
   * (bad IPv4 options, a fragment or unknown header before AH, an unsupported routing header).
   */
  private prepare(
    buf: Buffer,
    ipVersion: 4 | 6,
    ipOff: number,
    ahOff: number,
    ahLen: number,
    end: number,
    seq: number,
  ): readonly Uint8Array[] | null {
    const hdrLen = ahOff + ahLen - ipOff;
    if (this.scratch.length < hdrLen) this.scratch = Buffer.alloc(hdrLen);
    const s = this.scratch;
    buf.copy(s, 0, ipOff, ahOff + ahLen);
    const ipHdrLen = ahOff - ipOff;
    const ok = ipVersion === 4 ? zeroIpv4MutableFields(s, 0, ipHdrLen) : zeroIpv6MutableFields(s, 0, ipHdrLen);
    if (!ok) return null;
    // The IV and the ICV are zero; padding after them is included as sent (RFC 4302 3.3.3.2.1).
    const icvField = ipHdrLen + AH_ICV_FIELD_OFFSET;
    s.fill(0, icvField, icvField + this.ivLength + this.icvLength);
    const head = s.subarray(0, hdrLen);
    const payload = buf.subarray(ahOff + ahLen, end);
    if (this.esn) {
      writeU32(this.seqHigh, 0, Math.floor(seq / TWO_32));
      this.chunks3[0] = head;
      this.chunks3[1] = payload;
      return this.chunks3;
    }
    this.chunks2[0] = head;
    this.chunks2[1] = payload;
    return this.chunks2;
  }

  /**
   * Compute the ICV and write it into the AH at `ahOff` (whose ICV field is zero and whose IV, if any, is
   * already in place and in `this.iv`). Returns false if the headers are malformed.
   */
  seal(buf: Buffer, ipVersion: 4 | 6, ipOff: number, ahOff: number, ahLen: number, end: number, seq: number): boolean {
    const chunks = this.prepare(buf, ipVersion, ipOff, ahOff, ahLen, end, seq);
    if (chunks === null) return false;
    this.integrity.compute(chunks, buf, ahOff + this.icvOffset, this.ivLength > 0 ? this.iv : undefined);
    return true;
  }

  /**
   * Verify the ICV in the AH at `ahOff` in constant time. Returns 'ok', 'icv' on a mismatch, or 'malformed'
   * if the headers in front of AH cannot be prepared.
   */
  verify(
    buf: Buffer,
    ipVersion: 4 | 6,
    ipOff: number,
    ahOff: number,
    ahLen: number,
    end: number,
    seq: number,
  ): 'ok' | 'icv' | 'malformed' {
    if (this.ivLength > 0) {
      const ivOff = ahOff + AH_ICV_FIELD_OFFSET;
      buf.copy(this.iv, 0, ivOff, ivOff + this.ivLength);
    }
    const chunks = this.prepare(buf, ipVersion, ipOff, ahOff, ahLen, end, seq);
    if (chunks === null) return 'malformed';
    const good = this.integrity.verify(chunks, buf, ahOff + this.icvOffset, this.ivLength > 0 ? this.iv : undefined);
    return good ? 'ok' : 'icv';
  }
}
