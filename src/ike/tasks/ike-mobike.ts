/**
 * MOBIKE (RFC 4555): both peers announce support in IKE_AUTH; afterwards the original initiator moves the
 * IKE_SA and all its CHILD_SAs to a new address of its own with one INFORMATIONAL exchange, without a new
 * handshake. NAT detection payloads (RFC 7296 2.23) ride along, so both ends learn whether the new path crosses
 * a NAT. The responder moves only on an authenticated UPDATE_SA_ADDRESSES (3.5), to where that request came from.
 *
 *   IKE_AUTH (3.3):
 *   HDR, SK { IDi, AUTH, N(MOBIKE_SUPPORTED), SAi2, TSi, TSr } -->
 *                                   <-- HDR, SK { IDr, AUTH, N(MOBIKE_SUPPORTED), SAr2, TSi, TSr }
 *
 *   Liveness check of an initiator behind a NAT (3.8): an address update follows when the peer saw us elsewhere:
 *   HDR, SK { N(NAT_DETECTION_SOURCE_IP), N(NAT_DETECTION_DESTINATION_IP) } -->
 *                                   <-- HDR, SK { N(NAT_DETECTION_SOURCE_IP), N(NAT_DETECTION_DESTINATION_IP) }
 *
 *   Address update (3.5), from the initiator's new address:
 *   HDR, SK { N(UPDATE_SA_ADDRESSES), N(NAT_DETECTION_SOURCE_IP), N(NAT_DETECTION_DESTINATION_IP), N(COOKIE2) } -->
 *                                   <-- HDR, SK { N(NAT_DETECTION_SOURCE_IP), N(NAT_DETECTION_DESTINATION_IP), N(COOKIE2) }
 *
 * ADDITIONAL_IP*_ADDRESS / NO_ADDITIONAL_ADDRESSES (3.6) are status notifies: accepted and not used (we only move
 * to the address the daemon finds, not to alternatives the peer lists).
 */
import { LogLevel } from '../../common/log.js';
import { NAT_T_PORT } from '../../common/nat-t.js';
import { ExchangeType, NotifyType, PayloadType } from '../codec/constants.js';
import type { Payload } from '../codec/types.js';
import { IkeError } from '../errors.js';
import type { Endpoint } from '../events.js';
import { detectNat, natHash } from '../nat-detection.js';
import { all, findNotify, notify } from '../payload-util.js';
import type { IkeSa } from '../sa.js';
import { IkeSaState } from '../sa-state.js';
import type { Task, TaskContext, TaskResult } from '../task.js';
import { authenticationPending } from './ike-eap.js';
import { IkeDpdTask } from './ike-dpd.js';

/** SHA-1 output: the NAT_DETECTION_*_IP data length (RFC 7296 2.23). */
const NAT_HASH_LENGTH = 20;
/** COOKIE2 is 8 to 64 octets (RFC 4555 3.5); we send 16. */
const COOKIE2_LENGTH = 16;

/** Our NAT_DETECTION_* notifies for the IKE_SA's endpoints as given (forceEncap: a random source, as in IKE_SA_INIT). */
function natNotifies(ctx: TaskContext, local: Endpoint, remote: Endpoint): Payload[] {
  const { sa, core } = ctx;
  const source = sa.conn?.forceEncap === true ? core.rng.bytes(NAT_HASH_LENGTH) : natHash(sa.spiI, sa.spiR, local);
  return [
    notify(NotifyType.NAT_DETECTION_SOURCE_IP, source),
    notify(NotifyType.NAT_DETECTION_DESTINATION_IP, natHash(sa.spiI, sa.spiR, remote)),
  ];
}

/** NAT between us at `local` and the peer at `remote` from the peer's NAT_DETECTION_* notifies, if it sent any. */
function natOf(sa: IkeSa, payloads: readonly Payload[], local: Endpoint, remote: Endpoint) {
  const src = all(payloads, PayloadType.NOTIFY)
    .filter((n) => n.notifyType === NotifyType.NAT_DETECTION_SOURCE_IP)
    .map((n) => n.data);
  const dst = findNotify(payloads, NotifyType.NAT_DETECTION_DESTINATION_IP)?.data;
  return detectNat(sa.spiI, sa.spiR, src, dst, local, remote);
}

/** Announce the CHILD_SAs' new endpoints to the data plane. */
function moved(ctx: TaskContext, why: string): void {
  const { sa, core } = ctx;
  core.log.log(
    'ike',
    LogLevel.CONTROL,
    `${why}: IKE_SA now ${sa.local.address}[${sa.local.port}]...${sa.remote.address}[${sa.remote.port}]` +
      `, NAT local ${sa.natLocal} remote ${sa.natRemote}`,
    sa.label,
  );
  core.emit({
    type: 'ikeSaMoved',
    ikeSaId: sa.id,
    name: sa.conn?.name ?? '',
    local: sa.local,
    remote: sa.remote,
    natLocal: sa.natLocal,
    natRemote: sa.natRemote,
    childSaIds: sa.children.map((c) => c.id),
  });
}

/** IKE_AUTH: MOBIKE_SUPPORTED both ways (RFC 4555 3.3); `sa.mobike` once both sent it. */
export class IkeMobikeTask implements Task {
  readonly kind = 'ike-mobike';
  readonly exchangeType = ExchangeType.IKE_AUTH;
  private sent = false;
  private peerSupports = false;

  buildI(ctx: TaskContext): Payload[] {
    if (this.sent || ctx.sa.conn?.mobike !== true) return [];
    this.sent = true;
    return [notify(NotifyType.MOBIKE_SUPPORTED)];
  }

  processI(ctx: TaskContext, payloads: readonly Payload[]): TaskResult {
    const { sa, core } = ctx;
    if (findNotify(payloads, NotifyType.MOBIKE_SUPPORTED) !== undefined && this.sent) {
      sa.mobike = true;
      core.log.log('ike', LogLevel.CONTROL, 'peer supports MOBIKE', sa.label);
    }
    // EAP rounds (ike-eap.ts): the responder announces MOBIKE with its AUTH, in the last round.
    return sa.state === IkeSaState.CONNECTING && !sa.mobike ? 'retry' : 'done';
  }

  processR(_ctx: TaskContext, payloads: readonly Payload[]): void {
    if (findNotify(payloads, NotifyType.MOBIKE_SUPPORTED) !== undefined) this.peerSupports = true;
  }

  buildR(ctx: TaskContext): Payload[] {
    const { sa, core } = ctx;
    if (this.sent || !this.peerSupports || sa.conn?.mobike !== true || authenticationPending(sa)) return [];
    this.sent = true;
    sa.mobike = true;
    core.log.log('ike', LogLevel.CONTROL, 'peer supports MOBIKE', sa.label);
    return [notify(NotifyType.MOBIKE_SUPPORTED)];
  }
}

/**
 * The original initiator's address update (RFC 4555 3.5): `sa.local` already holds the new address (the
 * engine's `updateAddresses`). The response's NAT detection tells whether the new path crosses a NAT; behind
 * one, IKE and ESP continue on the NAT-T port (3.9). The CHILD_SAs move once the peer answered.
 */
export class MobikeUpdateTask implements Task {
  readonly kind = 'mobike-update';
  readonly exchangeType = ExchangeType.INFORMATIONAL;
  private cookie2: Buffer | undefined;

  buildI(ctx: TaskContext): Payload[] {
    const { sa, core } = ctx;
    this.cookie2 = core.rng.bytes(COOKIE2_LENGTH);
    return [
      notify(NotifyType.UPDATE_SA_ADDRESSES),
      ...natNotifies(ctx, sa.local, sa.remote),
      notify(NotifyType.COOKIE2, this.cookie2),
    ];
  }

  processI(ctx: TaskContext, payloads: readonly Payload[]): TaskResult {
    const { sa } = ctx;
    const echoed = findNotify(payloads, NotifyType.COOKIE2)?.data;
    if (this.cookie2 !== undefined && (echoed === undefined || !this.cookie2.equals(Buffer.from(echoed))))
      throw new IkeError(0, 'address update answered without our COOKIE2 (RFC 4555 3.5): addresses kept');
    const nat = natOf(sa, payloads, sa.local, sa.remote);
    if (nat !== undefined) {
      sa.natLocal = nat.local || (sa.conn?.forceEncap ?? false);
      sa.natRemote = nat.remote;
    }
    const seen = findNotify(payloads, NotifyType.NAT_DETECTION_DESTINATION_IP)?.data;
    if (seen !== undefined) sa.natSeenHash = Buffer.from(seen);
    if ((sa.natLocal || sa.natRemote) && sa.remote.port !== NAT_T_PORT) {
      // Behind a NAT now: IKE and ESP go on at 4500 (3.9); a second update from there tells the peer so, as it moves
      // only to where an update came from.
      sa.local = { address: sa.local.address, port: NAT_T_PORT };
      sa.remote = { address: sa.remote.address, port: NAT_T_PORT };
      ctx.core.queueTask(sa, new MobikeUpdateTask());
    }
    return 'done';
  }

  processR(): void {
    throw new Error('MobikeUpdateTask is initiator-only; see MobikeInformationalTask');
  }

  buildR(): Payload[] {
    return [];
  }

  completed(ctx: TaskContext): void {
    moved(ctx, 'addresses updated');
  }
}

/**
 * Responder side in every INFORMATIONAL request: NAT detection answered where asked (a MOBIKE peer checks its
 * NAT mapping with them, 3.8), COOKIE2 echoed, and UPDATE_SA_ADDRESSES applied on an IKE_SA with MOBIKE: the
 * IKE_SA takes the request's addresses, NAT state from its NAT detection, and the CHILD_SAs follow.
 */
export class MobikeInformationalTask implements Task {
  readonly kind = 'mobike-informational';
  readonly exchangeType = ExchangeType.INFORMATIONAL;
  private answer: Payload[] = [];
  private update:
    { local: Endpoint; remote: Endpoint; nat: { local: boolean; remote: boolean } | undefined } | undefined;

  buildI(): Payload[] {
    throw new Error('MobikeInformationalTask is responder-only');
  }
  processI(): TaskResult {
    throw new Error('MobikeInformationalTask is responder-only');
  }

  processR(ctx: TaskContext, payloads: readonly Payload[]): void {
    const { sa, core } = ctx;
    const request = ctx.request;
    if (request === undefined) return;
    const { from, to } = request;
    const nat = natOf(sa, payloads, to, from);
    if (nat !== undefined) this.answer.push(...natNotifies(ctx, to, from));
    const cookie2 = findNotify(payloads, NotifyType.COOKIE2);
    if (cookie2 !== undefined) this.answer.push(notify(NotifyType.COOKIE2, cookie2.data));
    if (findNotify(payloads, NotifyType.UPDATE_SA_ADDRESSES) === undefined) return;
    if (!sa.mobike || sa.initiator) {
      core.log.log('ike', LogLevel.CONTROL, 'UPDATE_SA_ADDRESSES ignored: MOBIKE not agreed on this IKE_SA', sa.label);
      return;
    }
    this.update = { local: to, remote: from, nat };
  }

  buildR(): Payload[] {
    return this.answer;
  }

  completed(ctx: TaskContext): void {
    const { sa } = ctx;
    const u = this.update;
    if (u === undefined || sa.state === IkeSaState.DESTROYED) return;
    sa.local = u.local;
    sa.remote = u.remote;
    if (u.nat !== undefined) {
      sa.natLocal = u.nat.local || (sa.conn?.forceEncap ?? false);
      sa.natRemote = u.nat.remote;
    }
    moved(ctx, 'peer updated its addresses');
  }
}

/**
 * Liveness check with NAT detection (RFC 4555 3.8) for the original initiator of an IKE_SA with MOBIKE behind a
 * NAT: when the peer's NAT_DETECTION_DESTINATION_IP (our address and port as it sees them) differs from the one it
 * sent before, our NAT mapping changed, and an address update tells the peer to move to the new mapping (with
 * MOBIKE it does not follow other IKE messages on its own).
 */
export class MobikeDpdTask implements Task {
  readonly kind = 'mobike-dpd';
  readonly exchangeType = ExchangeType.INFORMATIONAL;

  buildI(ctx: TaskContext): Payload[] {
    return natNotifies(ctx, ctx.sa.local, ctx.sa.remote);
  }

  processI(ctx: TaskContext, payloads: readonly Payload[]): TaskResult {
    const { sa, core } = ctx;
    const seen = findNotify(payloads, NotifyType.NAT_DETECTION_DESTINATION_IP)?.data;
    if (seen === undefined) return 'done';
    const before = sa.natSeenHash;
    sa.natSeenHash = Buffer.from(seen);
    if (before !== undefined && !before.equals(sa.natSeenHash) && sa.state === IkeSaState.ESTABLISHED) {
      core.log.log('ike', LogLevel.CONTROL, 'our NAT mapping changed: updating the peer', sa.label);
      core.queueTask(sa, new MobikeUpdateTask());
    }
    return 'done';
  }

  processR(): void {
    throw new Error('MobikeDpdTask has no responder role; see MobikeInformationalTask');
  }

  buildR(): Payload[] {
    return [];
  }
}

/** The liveness check for `sa`: with NAT detection when we initiated it with MOBIKE and sit behind a NAT. */
export function dpdTask(sa: IkeSa): Task {
  return sa.mobike && sa.initiator && sa.natLocal ? new MobikeDpdTask() : new IkeDpdTask();
}
