/**
 * What the outbound and inbound ESP SA objects both derive from their EspSaParams when they are built
 * (RFC 4303 3.2: one combined-mode algorithm, or a cipher with an optional separate integrity algorithm),
 * together with the buffers for the ICV input that both reuse for every packet (RFC 4303 2.2.1, 3.3.2 and
 * 3.4.4: the high 32 bits of an ESN go into the ICV but not onto the wire; RFC 4106 5: the AAD). Internal
 * to src/esp/ (not re-exported from index.ts). Runs once per SA, never per packet.
 */

import type { AeadTransform, CipherTransform, IntegrityTransform } from '../crypto/types.js';
import { ESP_AAD_ESN_LENGTH, ESP_AAD_LENGTH, ESP_ESN_HIGH_LENGTH } from './constants.js';
import type { EspMode, EspSaParams } from './sa-params.js';
import { espLayout, isAeadTransform } from './transform.js';
import type { EspLayout } from './transform.js';

export interface EspSaSetup {
  readonly spi: number;
  readonly mode: EspMode;
  readonly esn: boolean;
  readonly layout: EspLayout;
  /** The combined-mode algorithm, or null with a separate cipher. */
  readonly aead: AeadTransform | null;
  readonly cipher: CipherTransform | null;
  readonly integrity: IntegrityTransform | null;
  /** AEAD additional data: SPI || sequence number (32 or 64 bits). */
  readonly aad: Buffer;
  /** High 32 bits of the ESN, appended to the ICV input. */
  readonly seqHi: Buffer;
  /** Integrity input: chunks[0] is set per packet to the ESP packet; with ESN chunks[1] is `seqHi`. */
  readonly chunks: Uint8Array[];
}

/** Throws RangeError (from espLayout) for an invalid transform. */
export function espSaSetup(p: EspSaParams): EspSaSetup {
  const layout = espLayout(p.transform);
  const t = p.transform;
  let aead: AeadTransform | null = null;
  let cipher: CipherTransform | null = null;
  let integrity: IntegrityTransform | null = null;
  if (isAeadTransform(t)) {
    aead = t.aead;
  } else {
    cipher = t.cipher;
    integrity = t.integrity;
  }
  const seqHi = Buffer.alloc(ESP_ESN_HIGH_LENGTH);
  return {
    spi: p.spi >>> 0,
    mode: p.mode,
    esn: p.esn,
    layout,
    aead,
    cipher,
    integrity,
    aad: Buffer.alloc(p.esn ? ESP_AAD_ESN_LENGTH : ESP_AAD_LENGTH),
    seqHi,
    chunks: p.esn ? [seqHi, seqHi] : [seqHi],
  };
}
