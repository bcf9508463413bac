/**
 * EAP-MD5 (RFC 3748 5.4, with the CHAP computation of RFC 1994 4.1): the server sends a random challenge, the peer
 * answers MD5(Identifier | secret | challenge). One round trip, no mutual authentication and no MSK.
 *
 *   Type-Data: Value-Size(1) | Value | Name
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ParseError } from '../common/errors.js';
import { EapType } from './constants.js';
import type {
  PeerMethod,
  PeerMethodContext,
  PeerMethodStep,
  ServerMethod,
  ServerMethodContext,
  ServerMethodStep,
} from './eap-method.js';

export const MD5_CHALLENGE_LENGTH = 16;
const MD5_LENGTH = 16;
const VALUE_SIZE_OFFSET = 0;
const VALUE_OFFSET = 1;

export interface Md5Value {
  readonly value: Buffer;
  readonly name: Buffer;
}

/** Type-Data of an MD5-Challenge request or response. */
export function decodeMd5(typeData: Buffer): Md5Value {
  if (typeData.length < VALUE_OFFSET) throw new ParseError('EAP-MD5: no Value-Size', 0);
  const size = typeData[VALUE_SIZE_OFFSET] ?? 0;
  if (size === 0 || VALUE_OFFSET + size > typeData.length)
    throw new ParseError(`EAP-MD5: Value-Size ${size} does not fit`, VALUE_SIZE_OFFSET);
  return {
    value: typeData.subarray(VALUE_OFFSET, VALUE_OFFSET + size),
    name: typeData.subarray(VALUE_OFFSET + size),
  };
}

export function encodeMd5(v: Md5Value): Buffer {
  return Buffer.concat([Buffer.from([v.value.length]), v.value, v.name]);
}

/** RFC 1994 4.1: MD5 over the Identifier, the secret and the challenge. */
export function md5Response(identifier: number, password: string, challenge: Uint8Array): Buffer {
  return createHash('md5')
    .update(Buffer.from([identifier]))
    .update(password, 'utf8')
    .update(challenge)
    .digest();
}

export class Md5Server implements ServerMethod {
  readonly type = EapType['MD5-Challenge'];
  private readonly ctx: ServerMethodContext;
  private challenge: Buffer = Buffer.alloc(0);

  constructor(ctx: ServerMethodContext) {
    this.ctx = ctx;
  }

  initiate(): Buffer {
    this.challenge = this.ctx.rng.bytes(MD5_CHALLENGE_LENGTH);
    return encodeMd5({ value: this.challenge, name: Buffer.from(this.ctx.serverName, 'utf8') });
  }

  process(typeData: Buffer, identifier: number): ServerMethodStep {
    const { value } = decodeMd5(typeData);
    const password = this.ctx.password(this.ctx.identity);
    if (password === undefined) return { kind: 'failure', reason: `no EAP secret for '${this.ctx.identity}'` };
    const expected = md5Response(identifier, password, this.challenge);
    if (value.length !== MD5_LENGTH || !timingSafeEqual(value, expected))
      return { kind: 'failure', reason: `EAP-MD5 verification of '${this.ctx.identity}' failed` };
    return { kind: 'success', msk: undefined, identity: this.ctx.identity };
  }
}

export class Md5Peer implements PeerMethod {
  readonly type = EapType['MD5-Challenge'];
  readonly msk = undefined;
  complete = false;
  private readonly ctx: PeerMethodContext;

  constructor(ctx: PeerMethodContext) {
    this.ctx = ctx;
  }

  process(typeData: Buffer, identifier: number): PeerMethodStep {
    const { value } = decodeMd5(typeData);
    this.complete = true;
    return {
      kind: 'response',
      typeData: encodeMd5({
        value: md5Response(identifier, this.ctx.password, value),
        name: Buffer.from(this.ctx.identity, 'utf8'),
      }),
    };
  }
}
