/**
 * Stateless cookies (RFC 7296 2.6): Cookie = <VersionIDofSecret> | Hash(Ni | IPi | SPIi | <secret>),
 * with a secret that rotates; cookies made with the previous secret are still accepted.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Rng } from '../crypto/types.js';

const SECRET_LENGTH = 32;

export class CookieJar {
  private readonly rng: Rng;
  private readonly lifetimeMs: number;
  private version = 0;
  private secret: Buffer;
  private previous: Buffer | undefined;
  private createdMs: number | undefined;

  constructor(rng: Rng, lifetimeSec: number) {
    this.rng = rng;
    this.lifetimeMs = lifetimeSec * 1000;
    this.secret = rng.bytes(SECRET_LENGTH);
  }

  private rotate(nowMs: number): void {
    if (this.createdMs === undefined) this.createdMs = nowMs;
    if (nowMs - this.createdMs < this.lifetimeMs) return;
    this.previous = this.secret;
    this.secret = this.rng.bytes(SECRET_LENGTH);
    this.version = (this.version + 1) & 0xff;
    this.createdMs = nowMs;
  }

  private compute(version: number, secret: Buffer, nonceI: Uint8Array, ipI: Uint8Array, spiI: Uint8Array): Buffer {
    const h = createHash('sha256').update(nonceI).update(ipI).update(spiI).update(secret).digest();
    return Buffer.concat([Buffer.from([version]), h]);
  }

  /** The cookie to send for this initiator. */
  make(nowMs: number, nonceI: Uint8Array, ipI: Uint8Array, spiI: Uint8Array): Buffer {
    this.rotate(nowMs);
    return this.compute(this.version, this.secret, nonceI, ipI, spiI);
  }

  /** Is `cookie` one we made (with the current or the previous secret)? */
  verify(nowMs: number, cookie: Uint8Array, nonceI: Uint8Array, ipI: Uint8Array, spiI: Uint8Array): boolean {
    this.rotate(nowMs);
    const v = cookie[0];
    const candidates: Buffer[] = [this.compute(this.version, this.secret, nonceI, ipI, spiI)];
    if (this.previous !== undefined)
      candidates.push(this.compute((this.version + 255) & 0xff, this.previous, nonceI, ipI, spiI));
    return candidates.some((c) => c[0] === v && c.length === cookie.length && timingSafeEqual(c, cookie));
  }
}
