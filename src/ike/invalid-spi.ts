/**
 * Requests for IKE_SAs we do not know (RFC 7296 2.21.4): most likely the peer still holds an IKE_SA we
 * forgot (a restart). A request (never a response, never IKE_SA_INIT) is answered with an unprotected
 * INVALID_IKE_SPI notify, sent back to where it came from with the SPIs and the Message ID copied:
 *
 *   HDR(SPIi, SPIr, exchange, Message ID), SK {...}  -->   (no IKE_SA with our SPI)
 *                                                    <--   HDR(SPIi, SPIr, exchange, Message ID, R), N(INVALID_IKE_SPI)
 *
 * Anyone can make us send these, so they are rate-limited by a token bucket driven by the caller's clock.
 * A received INVALID_IKE_SPI is unauthenticated and changes nothing (2.21.4: MUST NOT change state): it may
 * also mean the peer does not know the IKE_SA yet (our DELETE overtook its IKE_SA rekey).
 */
import { ExchangeType, IKE_MAJOR_VERSION, NotifyType } from './codec/constants.js';
import { encodeMessage } from './codec/message.js';
import type { IkeHeader } from './codec/types.js';
import { notify } from './payload-util.js';

/** Default INVALID_IKE_SPI answers per second, and the burst allowed after a quiet spell. */
export const DEFAULT_INVALID_SPI_PER_SEC = 10;
export const DEFAULT_INVALID_SPI_BURST = 10;

/** A token bucket over caller-supplied milliseconds (no clock of its own). */
export class TokenBucket {
  private readonly perSec: number;
  private readonly burst: number;
  private tokens: number;
  private lastMs: number | undefined;

  constructor(perSec: number, burst: number) {
    this.perSec = Math.max(0, perSec);
    this.burst = this.perSec === 0 ? 0 : Math.max(1, burst);
    this.tokens = this.burst;
  }

  /** Take one token at `nowMs`; false when the bucket is empty (the caller stays silent). */
  take(nowMs: number): boolean {
    if (this.lastMs !== undefined && nowMs > this.lastMs)
      this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.lastMs) * this.perSec) / 1000);
    if (this.lastMs === undefined || nowMs > this.lastMs) this.lastMs = nowMs;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Whether a message for an unknown IKE_SA deserves an INVALID_IKE_SPI answer (a request, not IKE_SA_INIT). */
export function wantsInvalidSpiAnswer(request: IkeHeader): boolean {
  return !request.flags.response && request.exchangeType !== ExchangeType.IKE_SA_INIT;
}

/** The unprotected answer: the request's SPIs, exchange type and Message ID, Response flag set. */
export function encodeInvalidSpiAnswer(request: IkeHeader): Buffer {
  const header: IkeHeader = {
    spiI: request.spiI,
    spiR: request.spiR,
    nextPayload: 0,
    majorVersion: IKE_MAJOR_VERSION,
    minorVersion: 0,
    exchangeType: request.exchangeType,
    flags: { initiator: !request.flags.initiator, response: true, version: false },
    messageId: request.messageId,
    length: 0,
  };
  return encodeMessage({ header, payloads: [notify(NotifyType.INVALID_IKE_SPI)] });
}
