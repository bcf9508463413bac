/**
 * What the outbound and inbound ESP SA objects share, set up once when they are built: SPI, mode, ESN and
 * the algorithms (RFC 4303 3.2: one combined-mode algorithm, or a cipher with an optional separate integrity
 * algorithm), the counters, and the buffers for the ICV input that both reuse for every packet (RFC 4303
 * 2.2.1, 3.3.2 and 3.4.4: the high 32 bits of an ESN go into the ICV but not onto the wire; RFC 4106 5: the
 * AAD). Internal to src/esp/ (not re-exported from index.ts).
 */

import { newDropCounters } from '../common/drop.js';
import type { AeadTransform, CipherTransform, IntegrityTransform } from '../crypto/types.js';
import { ESP_AAD_ESN_LENGTH, ESP_AAD_LENGTH, ESP_ESN_HIGH_LENGTH } from './constants.js';
import type { EspMode, EspSaCounters, EspSaParams } from './sa-params.js';
import { espLayout, isAeadTransform } from './transform.js';
import type { EspLayout } from './transform.js';

const scratch = new Map<string, Buffer>();

/**
 * A buffer of `length` bytes for one use (`aad` or `iv`: the two are live at once), shared by every SA: for what an SA rewrites in full for each packet and forgets
 * after it (the AAD, the IV on its way into the packet or the cipher). The packet path is synchronous, so no
 * two packets use one at once. With thousands of SAs and traffic spread over them, per-SA buffers would be
 * cache misses on every packet (each an object and its bytes); shared ones stay in the cache.
 */
export function sharedScratch(use: 'aad' | 'iv', length: number): Buffer {
  const key = `${use}/${length}`;
  let b = scratch.get(key);
  if (b === undefined) scratch.set(key, (b = Buffer.alloc(length)));
  return b;
}

export abstract class EspSaBase {
  readonly spi: number;
  readonly mode: EspMode;
  readonly esn: boolean;
  readonly layout: EspLayout;
  readonly counters: EspSaCounters = { packets: 0, bytes: 0, drops: newDropCounters() };
  /** The combined-mode algorithm, or null with a separate cipher. */
  protected readonly aead: AeadTransform | null = null;
  protected readonly cipher: CipherTransform | null = null;
  protected readonly integrity: IntegrityTransform | null = null;
  /** AEAD additional data: SPI || sequence number (32 or 64 bits); shared scratch, written per packet. */
  protected readonly aad: Buffer;
  /** High 32 bits of the ESN, appended to the ICV input. */
  protected readonly seqHi = Buffer.alloc(ESP_ESN_HIGH_LENGTH);
  /** Integrity input: chunks[0] is set per packet to the ESP packet; with ESN chunks[1] is `seqHi`. */
  protected readonly chunks: Uint8Array[];

  /** Throws RangeError (from espLayout) for an invalid transform. */
  protected constructor(p: EspSaParams) {
    this.spi = p.spi >>> 0;
    this.mode = p.mode;
    this.esn = p.esn;
    this.layout = espLayout(p.transform);
    if (isAeadTransform(p.transform)) {
      this.aead = p.transform.aead;
    } else {
      this.cipher = p.transform.cipher;
      this.integrity = p.transform.integrity;
    }
    this.aad = sharedScratch('aad', this.esn ? ESP_AAD_ESN_LENGTH : ESP_AAD_LENGTH);
    this.chunks = this.esn ? [this.seqHi, this.seqHi] : [this.seqHi];
  }
}
