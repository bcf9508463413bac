/**
 * IKE_SA rekey (RFC 7296 1.3.2, 2.18): CREATE_CHILD_SA with an IKE proposal carrying the new SPI, fresh
 * nonces and a key exchange; SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr). The new IKE_SA inherits
 * all CHILD_SAs; the rekey initiator then deletes the old IKE_SA. Simultaneous rekeys (2.8.2): the new
 * IKE_SA created with the lowest nonce is deleted by its creator; the other endpoint deletes the old one.
 *
 *   HDR, SK { SA, Ni, KEi } -->
 *                                   <-- HDR, SK { SA, Nr, KEr }
 */
import { createKeyExchange } from '../../crypto/index.js';
import type { KeyExchange } from '../../crypto/types.js';
import { CryptoError } from '../../crypto/types.js';
import { ExchangeType, NotifyType, PayloadType, nameOf } from '../codec/constants.js';
import type { Payload } from '../codec/types.js';
import { IkeError } from '../errors.js';
import { computeRekeySkeyseed, deriveIkeKeys, prfOf } from '../keymat.js';
import { errorNotify, findNotify, first } from '../payload-util.js';
import {
  acceptResponseProposal,
  decodeSa,
  encodeSa,
  parseProposals,
  selectProposal,
  selectedAsProposal,
  withSpi,
} from '../proposals.js';
import type { Proposal, SelectedProposal } from '../proposals.js';
import type { IkeSa } from '../sa.js';
import { IkeSaState, transition } from '../sa-state.js';
import type { Task, TaskContext, TaskResult } from '../task.js';
import { IkeDeleteTask } from './ike-delete.js';
import { checkNonce } from './ike-init.js';
import { LogLevel } from '../../common/log.js';

/** Delay before a failed rekey is tried again. */
export const REKEY_RETRY_MS = 10_000;

/** On an IKE_SA we are rekeying ourselves: the replacement the peer created with us (collision). */
const peerReplacement = new WeakMap<IkeSa, IkeSa>();

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v, 0);
  return b;
}

function minNonce(sa: IkeSa): Buffer {
  return Buffer.compare(sa.nonceI, sa.nonceR) <= 0 ? sa.nonceI : sa.nonceR;
}

/** Move the CHILD_SAs of `from` to `to` and announce `to` (the new IKE_SA, RFC 7296 1.3.2). */
function adopt(ctx: TaskContext, from: IkeSa, to: IkeSa): void {
  for (const c of from.children) to.children.push(c);
  from.children = [];
  ctx.core.establishIke(to, ctx.nowMs);
}

export class IkeRekeyTask implements Task {
  readonly kind = 'ike-rekey';
  readonly exchangeType = ExchangeType.CREATE_CHILD_SA;
  private offered: Proposal[] = [];
  private ke: KeyExchange | undefined;
  private group: number | undefined;
  private spiLocal: Buffer | undefined;
  private nonceI: Buffer = Buffer.alloc(0);
  private nonceR: Buffer = Buffer.alloc(0);
  private selected: SelectedProposal | undefined;
  private created: IkeSa | undefined;
  private retries = 0;

  buildI(ctx: TaskContext): Payload[] {
    const { sa, core } = ctx;
    if (sa.conn === undefined) throw new Error('rekey without connection');
    if (sa.state === IkeSaState.ESTABLISHED) transition(sa, IkeSaState.REKEYING, 'rekey started', core.log);
    else if (sa.state !== IkeSaState.REKEYING) throw new IkeError(0, `cannot rekey an IKE_SA in state ${sa.state}`);
    this.spiLocal ??= core.newIkeSpi();
    this.offered = withSpi(parseProposals(sa.conn.proposals, 'ike'), this.spiLocal);
    const group = this.group ?? sa.proposal?.ke ?? this.offered[0]?.ke[0] ?? 0;
    if (this.ke === undefined || this.ke.group !== group) this.ke = createKeyExchange(group, core.rng);
    if (this.nonceI.length === 0) this.nonceI = core.rng.bytes(core.nonceLength);
    return [
      encodeSa(this.offered),
      { type: PayloadType.NONCE, data: this.nonceI },
      { type: PayloadType.KE, group, data: this.ke.publicKey },
    ];
  }

  processI(ctx: TaskContext, payloads: readonly Payload[]): TaskResult {
    const { sa, core } = ctx;
    const invalidKe = findNotify(payloads, NotifyType.INVALID_KE_PAYLOAD);
    if (invalidKe !== undefined) {
      const group = invalidKe.data.length === 2 ? invalidKe.data.readUInt16BE(0) : -1;
      if (++this.retries > 2 || !this.offered.some((p) => p.ke.includes(group)))
        throw new IkeError(NotifyType.INVALID_KE_PAYLOAD, `peer wants group ${group}`);
      this.group = group;
      return 'retry';
    }
    const err = errorNotify(payloads);
    if (err !== undefined)
      throw new IkeError(err.notifyType, `IKE_SA rekey refused by peer (${nameOf(NotifyType, err.notifyType)})`);
    const saP = first(payloads, PayloadType.SA);
    const keP = first(payloads, PayloadType.KE);
    if (saP === undefined || keP === undefined)
      throw new IkeError(NotifyType.INVALID_SYNTAX, 'rekey response without SA/KE');
    const s = acceptResponseProposal(this.offered, decodeSa(saP));
    if (
      s.protocol !== 'ike' ||
      s.spi.length !== 8 ||
      this.ke === undefined ||
      keP.group !== this.ke.group ||
      s.ke !== keP.group
    )
      throw new IkeError(NotifyType.INVALID_SYNTAX, 'rekey response proposal/KE mismatch');
    this.nonceR = checkNonce(first(payloads, PayloadType.NONCE)?.data);
    const spiI = this.spiLocal ?? Buffer.alloc(8);
    const fresh = core.newRekeyedIkeSa(sa, true, spiI, Buffer.from(s.spi));
    this.derive(sa, fresh, s, keP.data);
    this.created = fresh;
    const theirs = peerReplacement.get(sa);
    if (theirs !== undefined && theirs.state === IkeSaState.CREATED) {
      const oursLoses = Buffer.compare(minNonce(fresh), minNonce(theirs)) < 0;
      core.log.log(
        'ike',
        LogLevel.CONTROL,
        `IKE_SA rekey collision: ${oursLoses ? 'our' : 'peer'} new IKE_SA is redundant`,
        sa.label,
      );
      if (oursLoses) {
        adopt(ctx, sa, theirs);
        transition(sa, IkeSaState.REKEYED, `replaced by ${theirs.label}`, core.log);
        // Our redundant IKE_SA is deleted over itself.
        transition(fresh, IkeSaState.ESTABLISHED, 'redundant, deleting', core.log);
        core.queueTask(fresh, new IkeDeleteTask('replaced', 'redundant after IKE_SA rekey collision'));
        return 'done';
      }
    }
    adopt(ctx, sa, fresh);
    transition(sa, IkeSaState.REKEYED, `replaced by ${fresh.label}`, core.log);
    core.queueTask(sa, new IkeDeleteTask('replaced', 'rekeyed'));
    return 'done';
  }

  processR(ctx: TaskContext, payloads: readonly Payload[]): void {
    const { sa, core } = ctx;
    if (sa.conn === undefined) throw new IkeError(NotifyType.NO_PROPOSAL_CHOSEN, 'no connection');
    if (sa.state !== IkeSaState.ESTABLISHED && sa.state !== IkeSaState.REKEYING)
      throw new IkeError(NotifyType.TEMPORARY_FAILURE, `IKE_SA is ${sa.state}`);
    const saP = first(payloads, PayloadType.SA);
    const keP = first(payloads, PayloadType.KE);
    const nonce = first(payloads, PayloadType.NONCE);
    if (saP === undefined || keP === undefined || nonce === undefined)
      throw new IkeError(NotifyType.INVALID_SYNTAX, 'IKE rekey without SA, KE or Ni');
    const theirs = decodeSa(saP).filter((p) => p.protocol === 'ike' && p.spi.length === 8);
    const ours = parseProposals(sa.conn.proposals, 'ike');
    let s = selectProposal(ours, theirs, core.config.preferConfiguredProposals === false);
    if (s === undefined) throw new IkeError(NotifyType.NO_PROPOSAL_CHOSEN, 'no acceptable IKE proposal for rekey');
    if (keP.group !== s.ke) {
      const peerProp = theirs.find((p) => p.number === s?.number);
      if (peerProp?.ke.includes(keP.group) === true && ours.some((p) => p.ke.includes(keP.group)))
        s = { ...s, ke: keP.group };
      else throw new IkeError(NotifyType.INVALID_KE_PAYLOAD, `want group ${s.ke}`, u16(s.ke));
    }
    this.nonceI = checkNonce(nonce.data);
    this.nonceR = core.rng.bytes(core.nonceLength);
    this.ke = createKeyExchange(s.ke, core.rng);
    const fresh = core.newRekeyedIkeSa(sa, false, Buffer.from(s.spi), core.newIkeSpi());
    this.derive(sa, fresh, s, keP.data);
    this.selected = s;
    this.created = fresh;
  }

  buildR(): Payload[] {
    if (this.selected === undefined || this.ke === undefined || this.created === undefined) throw new Error('no rekey');
    return [
      encodeSa([selectedAsProposal({ ...this.selected, spi: this.created.spiR })]),
      { type: PayloadType.NONCE, data: this.nonceR },
      { type: PayloadType.KE, group: this.ke.group, data: this.ke.publicKey },
    ];
  }

  completed(ctx: TaskContext): void {
    const { sa, core } = ctx;
    const fresh = this.created;
    if (fresh === undefined || fresh.initiator) return;
    if (sa.state === IkeSaState.REKEYING) {
      peerReplacement.set(sa, fresh); // decided when our own rekey completes
      return;
    }
    adopt(ctx, sa, fresh);
    transition(sa, IkeSaState.REKEYED, `replaced by ${fresh.label}`, core.log);
  }

  failed(ctx: TaskContext, reason: string): void {
    const { sa, core } = ctx;
    if (this.spiLocal === undefined || this.created?.initiator === false) return; // responder: nothing to undo
    if (this.created !== undefined && this.created.initiator) core.destroyIke(this.created, 'failed', reason);
    if (sa.state === IkeSaState.REKEYING) {
      const theirs = peerReplacement.get(sa);
      if (theirs !== undefined && theirs.state === IkeSaState.CREATED) {
        adopt(ctx, sa, theirs);
        transition(sa, IkeSaState.REKEYED, `replaced by ${theirs.label}`, core.log);
      } else {
        transition(sa, IkeSaState.ESTABLISHED, `rekey failed: ${reason}`, core.log);
        sa.rekeyAtMs = ctx.nowMs + REKEY_RETRY_MS; // try again (RFC 7296 2.25: TEMPORARY_FAILURE and friends)
      }
    }
  }

  private derive(old: IkeSa, fresh: IkeSa, s: SelectedProposal, peerPublic: Buffer): void {
    if (this.ke === undefined || old.prf === undefined || old.keys === undefined) throw new Error('rekey without keys');
    let gir: Buffer;
    try {
      gir = this.ke.computeSharedSecret(peerPublic);
    } catch (e) {
      if (e instanceof CryptoError) throw new IkeError(NotifyType.INVALID_SYNTAX, `bad KE payload: ${e.message}`);
      throw e;
    }
    const skeyseed = computeRekeySkeyseed(old.prf, old.keys.skD, gir, this.nonceI, this.nonceR);
    const prf = prfOf(s);
    fresh.prf = prf;
    fresh.proposal = s;
    fresh.nonceI = this.nonceI;
    fresh.nonceR = this.nonceR;
    fresh.keys = deriveIkeKeys(prf, s, skeyseed, this.nonceI, this.nonceR, fresh.spiI, fresh.spiR);
  }

  /** Does a CREATE_CHILD_SA request rekey the IKE_SA? (an SA payload with an IKE proposal) */
  static matches(payloads: readonly Payload[]): boolean {
    const saP = first(payloads, PayloadType.SA);
    return saP !== undefined && saP.proposals.some((p) => p.protocolId === 1);
  }
}
