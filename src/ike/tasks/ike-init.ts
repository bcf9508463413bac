/**
 * IKE_SA_INIT (RFC 7296 1.2): proposal, key exchange and nonces; INVALID_KE_PAYLOAD and COOKIE retries
 * (1.2, 2.6), NAT detection (2.23), fragmentation (RFC 7383 2.3), signature hashes (RFC 7427 4) and
 * childless support (RFC 6023) announced.
 *
 *   HDR, SAi1, KEi, Ni, N(NAT_DETECTION_*), N(FRAGMENTATION_SUPPORTED) -->
 *                                   <-- HDR, SAr1, KEr, Nr, N(NAT_DETECTION_*), ...
 */
import { createKeyExchange, KeGroup } from '../../crypto/index.js';
import type { KeyExchange, Rng } from '../../crypto/types.js';
import { CryptoError } from '../../crypto/types.js';
import { ExchangeType, NotifyType, PayloadType, nameOf } from '../codec/constants.js';
import type { Payload } from '../codec/types.js';
import { connectionsForInit } from '../connection-select.js';
import { IkeError } from '../errors.js';
import { computeSkeyseed, deriveIkeKeys, prfOf } from '../keymat.js';
import { natHash, detectNat } from '../nat-detection.js';
import { all, errorNotify, findNotify, first, notify } from '../payload-util.js';
import {
  acceptResponseProposal,
  decodeSa,
  describeSelected,
  encodeSa,
  parseProposals,
  selectProposal,
  selectedAsProposal,
} from '../proposals.js';
import type { Proposal, SelectedProposal } from '../proposals.js';
import type { IkeSa } from '../sa.js';
import type { Task, TaskContext, TaskResult } from '../task.js';
import { LogLevel } from '../../common/log.js';
import { certReqPayloads, notePeerCapabilities } from '../auth-pubkey.js';
import { OUR_SIGNATURE_HASHES } from '../auth-signature.js';

/** RFC 7296 2.10: nonces are 16 to 256 bytes. */
export const NONCE_MIN_LENGTH = 16;
export const NONCE_MAX_LENGTH = 256;
/** How many INVALID_KE_PAYLOAD / COOKIE rounds the initiator accepts before giving up. */
const MAX_INIT_RETRIES = 3;
/** SHA-1 output: the NAT_DETECTION_*_IP data length (RFC 7296 2.23). */
const NAT_HASH_LENGTH = 20;

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v, 0);
  return b;
}

/** Check a received nonce's size (RFC 7296 2.10). */
export function checkNonce(data: Buffer | undefined): Buffer {
  if (data === undefined) throw new IkeError(NotifyType.INVALID_SYNTAX, 'nonce missing');
  if (data.length < NONCE_MIN_LENGTH || data.length > NONCE_MAX_LENGTH)
    throw new IkeError(NotifyType.INVALID_SYNTAX, `nonce of ${data.length} bytes`);
  return Buffer.from(data);
}

export class IkeInitTask implements Task {
  readonly kind = 'ike-init';
  readonly exchangeType = ExchangeType.IKE_SA_INIT;
  private ke: KeyExchange | undefined;
  private group: number | undefined;
  private cookie: Buffer | undefined;
  private retries = 0;
  private selected: SelectedProposal | undefined;

  buildI(ctx: TaskContext): Payload[] {
    const { sa, core } = ctx;
    const conn = sa.conn;
    if (conn === undefined) throw new Error('initiator IKE_SA without connection');
    if (sa.offered.length === 0) sa.offered = parseProposals(conn.proposals, 'ike');
    const group = this.group ?? sa.offered[0]?.ke[0] ?? KeGroup.NONE;
    if (this.ke === undefined || this.ke.group !== group) this.ke = createKeyExchange(group, core.rng);
    if (sa.nonceI.length === 0) sa.nonceI = core.rng.bytes(core.nonceLength);
    const out: Payload[] = [];
    if (this.cookie !== undefined) out.push(notify(NotifyType.COOKIE, this.cookie));
    out.push(encodeSa(sa.offered), { type: PayloadType.KE, group, data: this.ke.publicKey });
    out.push({ type: PayloadType.NONCE, data: sa.nonceI });
    out.push(...commonNotifies(sa, conn.fragmentation, conn.childless !== 'never', core.rng));
    return out;
  }

  processI(ctx: TaskContext, payloads: readonly Payload[]): TaskResult {
    const { sa } = ctx;
    const cookie = findNotify(payloads, NotifyType.COOKIE);
    if (cookie !== undefined) {
      if (++this.retries > MAX_INIT_RETRIES) throw new IkeError(0, 'too many COOKIE rounds');
      this.cookie = Buffer.from(cookie.data);
      ctx.core.log.log('ike', LogLevel.CONTROL, 'received COOKIE, retrying IKE_SA_INIT', sa.label);
      return 'retry';
    }
    const invalidKe = findNotify(payloads, NotifyType.INVALID_KE_PAYLOAD);
    if (invalidKe !== undefined) {
      const group = invalidKe.data.length === 2 ? invalidKe.data.readUInt16BE(0) : -1;
      if (!sa.offered.some((p) => p.ke.includes(group)) || group === this.group)
        throw new IkeError(0, `peer requested key exchange method ${group} which we did not offer`);
      if (++this.retries > MAX_INIT_RETRIES) throw new IkeError(0, 'too many INVALID_KE_PAYLOAD rounds');
      this.group = group;
      ctx.core.log.log('ike', LogLevel.CONTROL, `peer requested KE ${group}, retrying IKE_SA_INIT`, sa.label);
      return 'retry';
    }
    const err = errorNotify(payloads);
    if (err !== undefined)
      throw new IkeError(err.notifyType, `IKE_SA_INIT failed: peer sent ${nameOf(NotifyType, err.notifyType)}`);
    const saP = first(payloads, PayloadType.SA);
    const keP = first(payloads, PayloadType.KE);
    if (saP === undefined || keP === undefined) throw new IkeError(0, 'IKE_SA_INIT response without SA or KE');
    const s = acceptResponseProposal(sa.offered, decodeSa(saP));
    if (s.protocol !== 'ike' || this.ke === undefined || s.ke !== this.ke.group || keP.group !== s.ke)
      throw new IkeError(0, 'IKE_SA_INIT response key exchange does not match our KEi');
    sa.nonceR = checkNonce(first(payloads, PayloadType.NONCE)?.data);
    this.derive(ctx, s, keP.data);
    this.processCommon(ctx, payloads);
    return 'done';
  }

  processR(ctx: TaskContext, payloads: readonly Payload[]): void {
    const { sa, core } = ctx;
    const saP = first(payloads, PayloadType.SA);
    const keP = first(payloads, PayloadType.KE);
    const nonce = first(payloads, PayloadType.NONCE);
    if (saP === undefined || keP === undefined || nonce === undefined)
      throw new IkeError(NotifyType.INVALID_SYNTAX, 'IKE_SA_INIT request without SA, KE or Ni');
    const theirs = decodeSa(saP).filter((p) => p.protocol === 'ike');
    const preferPeer = core.config.preferConfiguredProposals === false;
    let chosen: { conn: (typeof conns)[number]; s: SelectedProposal; ours: Proposal[] } | undefined;
    // Only connections whose local_addrs and remote_addrs hold this request's addresses, best match first.
    const conns = connectionsForInit(core.connections(), sa.local.address, sa.remote.address);
    if (conns.length === 0)
      throw new IkeError(
        NotifyType.NO_PROPOSAL_CHOSEN,
        `no connection for ${sa.local.address}...${sa.remote.address} (local_addrs / remote_addrs)`,
      );
    for (const conn of conns) {
      const ours = parseProposals(conn.proposals, 'ike');
      const s = selectProposal(ours, theirs, preferPeer);
      if (s !== undefined) {
        chosen = { conn, s, ours };
        break;
      }
    }
    if (chosen === undefined) throw new IkeError(NotifyType.NO_PROPOSAL_CHOSEN, 'no acceptable IKE proposal');
    let s = chosen.s;
    if (keP.group !== s.ke) {
      // Keep the selected proposal if both sides also list the group the peer guessed (as strongSwan does).
      const peerProp = theirs.find((p) => p.number === s.number);
      const oursHave = chosen.ours.some((p) => p.ke.includes(keP.group));
      if (peerProp?.ke.includes(keP.group) === true && oursHave) s = { ...s, ke: keP.group };
      else throw new IkeError(NotifyType.INVALID_KE_PAYLOAD, `peer sent KE ${keP.group}, we want ${s.ke}`, u16(s.ke));
    }
    sa.conn = chosen.conn;
    sa.offered = chosen.ours;
    sa.nonceI = checkNonce(nonce.data);
    // Unauthenticated key exchange work is bounded (notify 0: the request is dropped without an answer).
    if (!core.allowKeyExchange(s.ke, ctx.nowMs)) throw new IkeError(0, `key exchange budget spent (KE ${s.ke})`);
    sa.nonceR = core.rng.bytes(core.nonceLength);
    this.ke = createKeyExchange(s.ke, core.rng);
    this.derive(ctx, s, keP.data);
    this.processCommon(ctx, payloads);
  }

  buildR(ctx: TaskContext): Payload[] {
    const { sa } = ctx;
    if (this.selected === undefined || this.ke === undefined) throw new Error('IKE_SA_INIT response before selection');
    const conn = sa.conn;
    return [
      encodeSa([selectedAsProposal({ ...this.selected, spi: Buffer.alloc(0) })]),
      { type: PayloadType.KE, group: this.ke.group, data: this.ke.publicKey },
      { type: PayloadType.NONCE, data: sa.nonceR },
      ...certReqPayloads(ctx.core.connections()),
      ...commonNotifies(sa, conn?.fragmentation ?? true, conn?.childless !== 'never', ctx.core.rng),
    ];
  }

  private derive(ctx: TaskContext, s: SelectedProposal, peerPublic: Buffer): void {
    const { sa } = ctx;
    if (this.ke === undefined) throw new Error('no key exchange');
    let gir: Buffer;
    try {
      gir = this.ke.computeSharedSecret(peerPublic);
    } catch (e) {
      if (e instanceof CryptoError) throw new IkeError(NotifyType.INVALID_SYNTAX, `bad KE payload: ${e.message}`);
      throw e;
    }
    const prf = prfOf(s);
    const skeyseed = computeSkeyseed(prf, s.prf ?? 0, sa.nonceI, sa.nonceR, gir);
    sa.keys = deriveIkeKeys(prf, s, skeyseed, sa.nonceI, sa.nonceR, sa.spiI, sa.spiR);
    sa.prf = prf;
    sa.proposal = s;
    this.selected = s;
    ctx.core.log.log('ike', LogLevel.CONTROL, `selected proposal ${describeSelected(s)}`, sa.label);
  }

  /** NAT detection, fragmentation. */
  private processCommon(ctx: TaskContext, payloads: readonly Payload[]): void {
    const { sa } = ctx;
    const src = all(payloads, PayloadType.NOTIFY)
      .filter((n) => n.notifyType === NotifyType.NAT_DETECTION_SOURCE_IP)
      .map((n) => n.data);
    const dst = findNotify(payloads, NotifyType.NAT_DETECTION_DESTINATION_IP)?.data;
    // The request's hashes use SPIr = 0 (RFC 7296 2.23).
    const spiR = sa.initiator ? sa.spiR : Buffer.alloc(8);
    const nat = detectNat(sa.spiI, spiR, src, dst, sa.local, sa.remote);
    // Our address and port as the responder saw them: a later change means our NAT mapping changed (RFC 4555 3.8).
    if (sa.initiator && dst !== undefined) sa.natSeenHash = Buffer.from(dst);
    if (nat !== undefined) {
      sa.natLocal = nat.local || (sa.conn?.forceEncap ?? false);
      sa.natRemote = nat.remote;
      if (nat.local || nat.remote)
        ctx.core.log.log('ike', LogLevel.CONTROL, `NAT detected: local ${nat.local}, remote ${nat.remote}`, sa.label);
    }
    sa.peerFragmentation = findNotify(payloads, NotifyType.IKEV2_FRAGMENTATION_SUPPORTED) !== undefined;
    notePeerCapabilities(sa, payloads);
  }
}

/**
 * NAT detection (with a random source hash when encapsulation is forced, so the peer sees a NAT, as
 * strongSwan's `encap = yes` does), fragmentation, signature hashes and childless support.
 */
function commonNotifies(sa: IkeSa, fragmentation: boolean, childless: boolean, rng: Rng): Payload[] {
  const spiR = sa.initiator ? Buffer.alloc(8) : sa.spiR;
  const out: Payload[] = [
    notify(
      NotifyType.NAT_DETECTION_SOURCE_IP,
      sa.conn?.forceEncap === true ? rng.bytes(NAT_HASH_LENGTH) : natHash(sa.spiI, spiR, sa.local),
    ),
    notify(NotifyType.NAT_DETECTION_DESTINATION_IP, natHash(sa.spiI, spiR, sa.remote)),
  ];
  if (fragmentation) out.push(notify(NotifyType.IKEV2_FRAGMENTATION_SUPPORTED));
  const hashes = Buffer.concat(OUR_SIGNATURE_HASHES.map(u16));
  out.push(notify(NotifyType.SIGNATURE_HASH_ALGORITHMS, hashes));
  if (childless) out.push(notify(NotifyType.CHILDLESS_IKEV2_SUPPORTED));
  return out;
}
