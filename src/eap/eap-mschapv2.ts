/**
 * EAP-MSCHAPv2 (RFC 2759 carried in EAP as draft-kamath-pppext-eap-mschapv2 describes and strongSwan and Windows
 * speak it). Type-Data is OpCode | MS-CHAPv2-ID | MS-Length | data, MS-Length counting from the OpCode; the peer's
 * Success and Failure responses are the OpCode alone.
 *
 *   server                                                   peer
 *   Challenge  { Value-Size=16, Challenge, Name }       -->
 *                  <--  Response { Value-Size=49, Peer-Challenge, 8 x 0, NT-Response, Flags=0, Name }
 *   Success    { "S=<authenticator response> M=..." }    -->   (the peer checks S=: mutual authentication)
 *                                              <--  Success (OpCode only)
 *   EAP-Success; both hold the MSK (mschapv2-crypto.ts)
 *
 * A wrong password gets Failure { "E=691 R=0 C=<challenge> V=3 M=..." }, the peer's Failure response, EAP-Failure.
 */
import { timingSafeEqual } from 'node:crypto';
import { ParseError } from '../common/errors.js';
import { EapType, MsChapV2OpCode } from './constants.js';
import type {
  PeerMethod,
  PeerMethodContext,
  PeerMethodStep,
  ServerMethod,
  ServerMethodContext,
  ServerMethodStep,
} from './eap-method.js';
import {
  CHALLENGE_LENGTH,
  NT_RESPONSE_LENGTH,
  generateAuthenticatorResponse,
  generateNtResponse,
  hashNtPasswordHash,
  mschapv2Msk,
  ntPasswordHash,
} from './mschapv2-crypto.js';

const OPCODE_OFFSET = 0;
const ID_OFFSET = 1;
const MS_LENGTH_OFFSET = 2;
const HEADER_LENGTH = 4;
const VALUE_SIZE_OFFSET = HEADER_LENGTH;
const VALUE_OFFSET = HEADER_LENGTH + 1;
/** Response value: Peer-Challenge(16) Reserved(8) NT-Response(24) Flags(1) (RFC 2759 4). */
const RESPONSE_VALUE_LENGTH = 49;
const RESERVED_LENGTH = 8;
const PEER_CHALLENGE_OFFSET = 0;
const NT_RESPONSE_OFFSET = CHALLENGE_LENGTH + RESERVED_LENGTH;
const FLAGS_OFFSET = NT_RESPONSE_OFFSET + NT_RESPONSE_LENGTH;
/** RFC 2759 6: authentication failure. */
export const ERROR_AUTHENTICATION_FAILURE = 691;

export type MsChapV2Message =
  | {
      readonly opCode: typeof MsChapV2OpCode.Challenge;
      readonly id: number;
      readonly challenge: Buffer;
      readonly name: Buffer;
    }
  | {
      readonly opCode: typeof MsChapV2OpCode.Response;
      readonly id: number;
      readonly peerChallenge: Buffer;
      readonly ntResponse: Buffer;
      readonly flags: number;
      readonly name: Buffer;
    }
  /** The server's Success or Failure request: a text message. */
  | {
      readonly opCode: typeof MsChapV2OpCode.Success | typeof MsChapV2OpCode.Failure;
      readonly id: number;
      readonly message: string;
    }
  /** The peer's Success or Failure response: the OpCode alone. */
  | { readonly opCode: typeof MsChapV2OpCode.Success | typeof MsChapV2OpCode.Failure; readonly short: true };

/** Decode MS-CHAPv2 Type-Data; `fromServer` tells requests from responses (Success and Failure differ). */
export function decodeMsChapV2(typeData: Buffer, fromServer: boolean): MsChapV2Message {
  if (typeData.length < 1) throw new ParseError('EAP-MSCHAPv2: no OpCode', 0);
  const opCode = typeData[OPCODE_OFFSET] ?? 0;
  const short = opCode === MsChapV2OpCode.Success || opCode === MsChapV2OpCode.Failure;
  if (!fromServer && short) return { opCode: opCode as 3 | 4, short: true };
  if (typeData.length < HEADER_LENGTH) throw new ParseError('EAP-MSCHAPv2: truncated header', 0);
  const id = typeData[ID_OFFSET] ?? 0;
  const msLength = typeData.readUInt16BE(MS_LENGTH_OFFSET);
  if (msLength > typeData.length) throw new ParseError('EAP-MSCHAPv2: MS-Length beyond the packet', MS_LENGTH_OFFSET);
  const valueSize = (want: number): Buffer => {
    if (typeData.length < VALUE_OFFSET + want || typeData[VALUE_SIZE_OFFSET] !== want)
      throw new ParseError(`EAP-MSCHAPv2: Value-Size is not ${want}`, VALUE_SIZE_OFFSET);
    return typeData.subarray(VALUE_OFFSET, VALUE_OFFSET + want);
  };
  switch (opCode) {
    case MsChapV2OpCode.Challenge:
      if (!fromServer) break;
      return {
        opCode,
        id,
        challenge: valueSize(CHALLENGE_LENGTH),
        name: typeData.subarray(VALUE_OFFSET + CHALLENGE_LENGTH),
      };
    case MsChapV2OpCode.Response: {
      if (fromServer) break;
      const v = valueSize(RESPONSE_VALUE_LENGTH);
      return {
        opCode,
        id,
        peerChallenge: v.subarray(PEER_CHALLENGE_OFFSET, CHALLENGE_LENGTH),
        ntResponse: v.subarray(NT_RESPONSE_OFFSET, FLAGS_OFFSET),
        flags: v[FLAGS_OFFSET] ?? 0,
        name: typeData.subarray(VALUE_OFFSET + RESPONSE_VALUE_LENGTH),
      };
    }
    case MsChapV2OpCode.Success:
    case MsChapV2OpCode.Failure:
      return { opCode, id, message: typeData.subarray(HEADER_LENGTH).toString('latin1') };
  }
  throw new ParseError(`EAP-MSCHAPv2: unexpected OpCode ${opCode}`, OPCODE_OFFSET);
}

export function encodeMsChapV2(m: MsChapV2Message): Buffer {
  if ('short' in m) return Buffer.from([m.opCode]);
  let body: Buffer;
  switch (m.opCode) {
    case MsChapV2OpCode.Challenge:
      body = Buffer.concat([Buffer.from([CHALLENGE_LENGTH]), m.challenge, m.name]);
      break;
    case MsChapV2OpCode.Response: {
      const value = Buffer.alloc(RESPONSE_VALUE_LENGTH);
      value.set(m.peerChallenge, PEER_CHALLENGE_OFFSET);
      value.set(m.ntResponse, NT_RESPONSE_OFFSET);
      value[FLAGS_OFFSET] = m.flags;
      body = Buffer.concat([Buffer.from([RESPONSE_VALUE_LENGTH]), value, m.name]);
      break;
    }
    default:
      body = Buffer.from(m.message, 'latin1');
  }
  const out = Buffer.alloc(HEADER_LENGTH + body.length);
  out[OPCODE_OFFSET] = m.opCode;
  out[ID_OFFSET] = m.id;
  out.writeUInt16BE(out.length, MS_LENGTH_OFFSET);
  out.set(body, HEADER_LENGTH);
  return out;
}

/** The user name MS-CHAPv2 hashes: the identity without a `DOMAIN\` prefix (RFC 2759 4, as strongSwan strips it). */
export function mschapUserName(identity: string): Buffer {
  const slash = identity.indexOf('\\');
  return Buffer.from(slash >= 0 ? identity.slice(slash + 1) : identity, 'utf8');
}

/** `KEY=value` fields of a Success or Failure message (`S=... M=...`, `E=691 R=0 C=... V=3 M=...`). */
export function messageFields(message: string): Map<string, string> {
  const fields = new Map<string, string>();
  const m = /(?:^|\s)M=(.*)$/s.exec(message);
  const head = m === null ? message : message.slice(0, m.index);
  for (const token of head.split(/\s+/)) {
    const eq = token.indexOf('=');
    if (eq > 0) fields.set(token.slice(0, eq), token.slice(eq + 1));
  }
  if (m !== null) fields.set('M', m[1] ?? '');
  return fields;
}

export class MsChapV2Server implements ServerMethod {
  readonly type = EapType['EAP-MSCHAP-V2'];
  private readonly ctx: ServerMethodContext;
  private challenge: Buffer = Buffer.alloc(0);
  private id = 0;
  private state: 'challenge' | 'success' | 'failure' = 'challenge';
  private msk: Buffer | undefined;
  private user = '';
  private failure = '';

  constructor(ctx: ServerMethodContext) {
    this.ctx = ctx;
  }

  get failing(): string | undefined {
    return this.state === 'failure' ? this.failure : undefined;
  }

  initiate(): Buffer {
    this.challenge = this.ctx.rng.bytes(CHALLENGE_LENGTH);
    this.id = this.ctx.rng.bytes(1)[0] ?? 0;
    return encodeMsChapV2({
      opCode: MsChapV2OpCode.Challenge,
      id: this.id,
      challenge: this.challenge,
      name: Buffer.from(this.ctx.serverName, 'utf8'),
    });
  }

  process(typeData: Buffer): ServerMethodStep {
    const m = decodeMsChapV2(typeData, false);
    switch (this.state) {
      case 'challenge':
        if (m.opCode !== MsChapV2OpCode.Response)
          return { kind: 'failure', reason: 'EAP-MSCHAPv2: expected a Response' };
        return this.response(m.id, m.peerChallenge, m.ntResponse, m.name.toString('utf8'));
      case 'success':
        if (m.opCode !== MsChapV2OpCode.Success || !('short' in m))
          return { kind: 'failure', reason: 'EAP-MSCHAPv2: expected the Success response' };
        return { kind: 'success', msk: this.msk, identity: this.user };
      case 'failure':
        return { kind: 'failure', reason: this.failure };
    }
  }

  private response(id: number, peerChallenge: Buffer, ntResponse: Buffer, user: string): ServerMethodStep {
    if (id !== this.id) return { kind: 'failure', reason: 'EAP-MSCHAPv2: Response to another challenge' };
    this.user = user;
    const password = this.ctx.password(user);
    const userName = mschapUserName(user);
    const hash = password === undefined ? undefined : ntPasswordHash(password);
    const expected = hash === undefined ? undefined : generateNtResponse(this.challenge, peerChallenge, userName, hash);
    if (hash === undefined || expected === undefined || !timingSafeEqual(expected, ntResponse)) {
      this.state = 'failure';
      this.failure =
        password === undefined
          ? `EAP-MSCHAPv2: no EAP secret for '${user}'`
          : `EAP-MSCHAPv2 verification of '${user}' failed (wrong password)`;
      const message = `E=${ERROR_AUTHENTICATION_FAILURE} R=0 C=${this.challenge.toString('hex').toUpperCase()} V=3 M=Authentication failed`;
      return { kind: 'request', typeData: encodeMsChapV2({ opCode: MsChapV2OpCode.Failure, id: this.id, message }) };
    }
    this.state = 'success';
    this.msk = mschapv2Msk(hashNtPasswordHash(hash), ntResponse);
    const auth = generateAuthenticatorResponse(hash, ntResponse, peerChallenge, this.challenge, userName);
    return {
      kind: 'request',
      typeData: encodeMsChapV2({ opCode: MsChapV2OpCode.Success, id: this.id, message: `${auth} M=Welcome` }),
    };
  }
}

export class MsChapV2Peer implements PeerMethod {
  readonly type = EapType['EAP-MSCHAP-V2'];
  complete = false;
  msk: Buffer | undefined;
  private readonly ctx: PeerMethodContext;
  private expected: string | undefined;
  private pendingMsk: Buffer | undefined;

  constructor(ctx: PeerMethodContext) {
    this.ctx = ctx;
  }

  process(typeData: Buffer): PeerMethodStep {
    const m = decodeMsChapV2(typeData, true);
    if (m.opCode === MsChapV2OpCode.Challenge) {
      const peerChallenge = this.ctx.rng.bytes(CHALLENGE_LENGTH);
      const userName = mschapUserName(this.ctx.identity);
      const hash = ntPasswordHash(this.ctx.password);
      const ntResponse = generateNtResponse(m.challenge, peerChallenge, userName, hash);
      this.expected = generateAuthenticatorResponse(hash, ntResponse, peerChallenge, m.challenge, userName);
      this.pendingMsk = mschapv2Msk(hashNtPasswordHash(hash), ntResponse);
      return {
        kind: 'response',
        typeData: encodeMsChapV2({
          opCode: MsChapV2OpCode.Response,
          id: m.id,
          peerChallenge,
          ntResponse,
          flags: 0,
          name: Buffer.from(this.ctx.identity, 'utf8'),
        }),
      };
    }
    if ('short' in m || m.opCode === MsChapV2OpCode.Response) throw new ParseError('EAP-MSCHAPv2: not a request', 0);
    const fields = messageFields(m.message);
    if (m.opCode === MsChapV2OpCode.Failure)
      return {
        kind: 'failure',
        reason: `EAP-MSCHAPv2 failed with error ${fields.get('E') ?? '?'}: '${fields.get('M') ?? ''}'`,
        typeData: encodeMsChapV2({ opCode: MsChapV2OpCode.Failure, short: true }),
      };
    const s = fields.get('S');
    const expected = this.expected;
    if (expected === undefined || s === undefined || !sameText(`S=${s.toUpperCase()}`, expected))
      return { kind: 'failure', reason: 'EAP-MSCHAPv2: the server did not prove it knows the password' };
    this.complete = true;
    this.msk = this.pendingMsk;
    return { kind: 'response', typeData: encodeMsChapV2({ opCode: MsChapV2OpCode.Success, short: true }) };
  }
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
