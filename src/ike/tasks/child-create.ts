/**
 * Creating a CHILD_SA: the first one inside IKE_AUTH (RFC 7296 1.2) or a new one with CREATE_CHILD_SA
 * (1.3.1), optionally with a PFS key exchange; also the creation half of a CHILD_SA rekey (1.3.3).
 * Traffic selectors are narrowed by the responder (2.9); USE_TRANSPORT_MODE asks for transport mode.
 *
 *   HDR, SK { [N(REKEY_SA),] [N(USE_TRANSPORT_MODE),] SA, Ni, [KEi,] TSi, TSr } -->
 *                                   <-- HDR, SK { SA, Nr, [KEr,] TSi, TSr }
 */
import { createKeyExchange } from '../../crypto/index.js';
import { EsnId, KeGroup } from '../../crypto/ids.js';
import type { KeyExchange } from '../../crypto/types.js';
import { CryptoError } from '../../crypto/types.js';
import { ExchangeType, NotifyType, PayloadType, ProtocolId, nameOf } from '../codec/constants.js';
import type { Payload, TrafficSelector } from '../codec/types.js';
import type { ChildConfig } from '../config.js';
import { IkeError } from '../errors.js';
import { deriveChildKeys } from '../keymat.js';
import { errorNotify, findNotify, first, notify } from '../payload-util.js';
import {
  acceptResponseProposal,
  decodeSa,
  encodeSa,
  parseProposals,
  selectProposal,
  selectedAsProposal,
  withKe,
  withSpi,
} from '../proposals.js';
import type { Proposal, SelectedProposal } from '../proposals.js';
import type { ChildSa, IkeSa } from '../sa.js';
import {
  hostSelector,
  narrowTs,
  parseAddress,
  parseTrafficSelector,
  tsLimitViolation,
  tsListIsSubset,
} from '../traffic-selectors.js';
import type { Task, TaskContext, TaskResult } from '../task.js';
import { checkNonce } from './ike-init.js';
import { dynamicSelectors } from '../virtual-ips.js';
import { authenticationPending } from './ike-eap.js';
import { IkeSaState } from '../sa-state.js';
import { LogLevel } from '../../common/log.js';

/**
 * Resolve configured selectors; `dynamic` is the IKE address of that side, or `dynamic` selectors when given
 * (virtual IPs, virtual-ips.ts).
 */
export function resolveTs(
  specs: readonly string[],
  address: string,
  dynamic?: readonly TrafficSelector[],
): TrafficSelector[] {
  return specs.flatMap((s) => {
    if (s === 'dynamic' && dynamic !== undefined) return dynamic;
    if (s === 'dynamic') {
      const a = parseAddress(address);
      if (a === undefined) throw new Error(`cannot use 'dynamic' with address ${address}`);
      return hostSelector(a);
    }
    return parseTrafficSelector(s);
  });
}

function protoId(p: 'esp' | 'ah'): number {
  return p === 'esp' ? ProtocolId.ESP : ProtocolId.AH;
}

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v, 0);
  return b;
}

export interface ChildCreateOptions {
  /** The child configuration (initiator; responder finds it). */
  readonly config?: ChildConfig;
  /** True inside IKE_AUTH: no nonce/KE, keys from the IKE_SA_INIT nonces. */
  readonly inAuth: boolean;
  /** The CHILD_SA being replaced (REKEY_SA). */
  readonly rekey?: ChildSa;
}

export class ChildCreateTask implements Task {
  readonly kind: string;
  readonly exchangeType: number;
  readonly opts: ChildCreateOptions;
  /** The new CHILD_SA (set once built or accepted). */
  child: ChildSa | undefined;
  private offered: Proposal[] = [];
  private ke: KeyExchange | undefined;
  private keGroup: number | undefined;
  private selected: SelectedProposal | undefined;
  private tsI: TrafficSelector[] = [];
  private tsR: TrafficSelector[] = [];
  private retries = 0;
  /** The responder found nothing to do (childless IKE_AUTH, RFC 6023). */
  private skipped = false;
  /** IKE_AUTH with EAP (ike-eap.ts): the request that carried SA and TS, answered once the peer is authenticated. */
  private authRequest: readonly Payload[] | undefined;
  private waiting = false;

  constructor(opts: ChildCreateOptions) {
    this.opts = opts;
    this.kind = opts.rekey !== undefined ? 'child-rekey' : 'child-create';
    this.exchangeType = opts.inAuth ? ExchangeType.IKE_AUTH : ExchangeType.CREATE_CHILD_SA;
  }

  buildI(ctx: TaskContext): Payload[] {
    const { sa, core } = ctx;
    const config = this.opts.config;
    if (config === undefined) throw new Error('initiator CHILD_SA without config');
    // Later IKE_AUTH rounds of EAP carry no CHILD_SA payloads (RFC 7296 2.16).
    if (this.opts.inAuth && this.offered.length > 0) return [];
    if (this.child === undefined) {
      this.child = core.newChildSa(config);
      this.child.createdAsInitiator = true;
      this.child.rekeyOf = this.opts.rekey?.id;
    }
    const child = this.child;
    let proposals = withSpi(parseProposals(config.proposals, config.protocol), child.spiIn);
    const pfs = proposals[0]?.ke.find((g) => g !== KeGroup.NONE);
    if (this.opts.inAuth || pfs === undefined) proposals = withKe(proposals, []);
    this.offered = proposals;
    const out: Payload[] = [];
    if (this.opts.rekey !== undefined)
      out.push(notify(NotifyType.REKEY_SA, Buffer.alloc(0), protoId(this.opts.rekey.protocol), this.opts.rekey.spiIn));
    if (config.mode === 'transport') out.push(notify(NotifyType.USE_TRANSPORT_MODE));
    out.push(encodeSa(proposals));
    if (!this.opts.inAuth) {
      if (child.nonceI.length === 0) child.nonceI = core.rng.bytes(core.nonceLength);
      out.push({ type: PayloadType.NONCE, data: child.nonceI });
      if (pfs !== undefined) {
        const group = this.keGroup ?? pfs;
        if (this.ke === undefined || this.ke.group !== group) this.ke = createKeyExchange(group, core.rng);
        out.push({ type: PayloadType.KE, group, data: this.ke.publicKey });
      }
    }
    this.tsI = resolveTs(config.localTs, sa.local.address, dynamicSelectors(sa, 'local'));
    this.tsR = resolveTs(config.remoteTs, sa.remote.address, dynamicSelectors(sa, 'remote'));
    out.push({ type: PayloadType.TSi, selectors: this.tsI }, { type: PayloadType.TSr, selectors: this.tsR });
    return out;
  }

  processI(ctx: TaskContext, payloads: readonly Payload[]): TaskResult {
    const { sa, core } = ctx;
    const child = this.child;
    if (child === undefined) throw new Error('no child');
    if (this.opts.inAuth && sa.state === IkeSaState.CONNECTING) return 'retry'; // EAP rounds: wait for the last
    const invalidKe = findNotify(payloads, NotifyType.INVALID_KE_PAYLOAD);
    if (invalidKe !== undefined && !this.opts.inAuth) {
      const group = invalidKe.data.length === 2 ? invalidKe.data.readUInt16BE(0) : -1;
      if (++this.retries > 2 || !this.offered.some((p) => p.ke.includes(group)))
        throw new IkeError(NotifyType.INVALID_KE_PAYLOAD, `peer wants PFS group ${group}`);
      this.keGroup = group;
      return 'retry';
    }
    const err = errorNotify(payloads);
    if (err !== undefined)
      throw new IkeError(
        err.notifyType,
        `CHILD_SA ${child.config.name} refused by peer (${nameOf(NotifyType, err.notifyType)})`,
      );
    const saP = first(payloads, PayloadType.SA);
    if (saP === undefined) {
      if (this.opts.inAuth) {
        core.log.log('chd', LogLevel.CONTROL, 'peer created no CHILD_SA (childless IKE_SA)', sa.label);
        this.child = undefined;
        return 'done';
      }
      throw new IkeError(NotifyType.NO_PROPOSAL_CHOSEN, 'CREATE_CHILD_SA response without SA');
    }
    const s = acceptResponseProposal(this.offered, decodeSa(saP));
    if (s.protocol !== child.protocol || s.spi.length !== 4)
      throw new IkeError(NotifyType.NO_PROPOSAL_CHOSEN, 'response proposal has the wrong protocol or SPI size');
    const tsI = first(payloads, PayloadType.TSi)?.selectors ?? [];
    const tsR = first(payloads, PayloadType.TSr)?.selectors ?? [];
    if (!tsListIsSubset(tsI, this.tsI) || !tsListIsSubset(tsR, this.tsR))
      throw new IkeError(NotifyType.TS_UNACCEPTABLE, 'responder selectors are not a subset of ours');
    const tooMany = tsLimitViolation(tsI, tsR);
    if (tooMany !== undefined) throw new IkeError(NotifyType.TS_UNACCEPTABLE, `responder sent ${tooMany}`);
    // With virtual IPs our side is narrowed to the addresses we hold now (as strongSwan does).
    const tsLocal =
      sa.vips === undefined
        ? tsI
        : narrowTs(tsI, resolveTs(child.config.localTs, sa.local.address, dynamicSelectors(sa, 'local')));
    if (tsLocal.length === 0)
      throw new IkeError(NotifyType.TS_UNACCEPTABLE, 'responder selectors miss our virtual IPs');
    let gir: Buffer | undefined;
    if (!this.opts.inAuth) {
      child.nonceR = checkNonce(first(payloads, PayloadType.NONCE)?.data);
      if (s.ke !== KeGroup.NONE) {
        const keP = first(payloads, PayloadType.KE);
        if (keP === undefined || this.ke === undefined || keP.group !== s.ke || s.ke !== this.ke.group)
          throw new IkeError(NotifyType.INVALID_SYNTAX, 'KEr missing or of another group');
        gir = this.sharedSecret(keP.data);
      }
    } else {
      child.nonceI = sa.nonceI;
      child.nonceR = sa.nonceR;
    }
    child.spiOut = Buffer.from(s.spi);
    child.mode =
      child.config.mode === 'transport' && findNotify(payloads, NotifyType.USE_TRANSPORT_MODE) ? 'transport' : 'tunnel';
    if (child.config.mode === 'transport' && child.mode === 'tunnel')
      core.log.log('chd', LogLevel.CONTROL, 'peer did not accept transport mode, using tunnel mode', child.label);
    child.tsLocal = tsLocal.map(copyTs);
    child.tsRemote = tsR.map(copyTs);
    this.finish(sa, child, s, gir);
    core.installChild(sa, child, ctx.nowMs);
    return 'done';
  }

  processR(ctx: TaskContext, request: readonly Payload[]): void {
    const { sa, core } = ctx;
    // EAP (ike-eap.ts): keep the first IKE_AUTH request and answer it in the last round.
    const payloads = this.opts.inAuth ? (this.authRequest ??= request) : request;
    this.waiting = this.opts.inAuth && authenticationPending(sa);
    if (this.waiting) return;
    const saP = first(payloads, PayloadType.SA);
    if (saP === undefined && this.opts.inAuth) {
      this.skipped = true; // childless initiator (RFC 6023)
      return;
    }
    if (saP === undefined) throw new IkeError(NotifyType.INVALID_SYNTAX, 'CREATE_CHILD_SA without SA');
    // RFC 7296 3.15.4: the IKE_SA stands without the CHILD_SA when no virtual IP could be assigned.
    if (this.opts.inAuth && sa.vips?.failed === true)
      throw new IkeError(0, 'configuration payload negotiation failed, no CHILD_SA built');
    const theirs = decodeSa(saP).filter((p) => p.protocol !== 'ike' && p.spi.length === 4);
    const tsIP = first(payloads, PayloadType.TSi)?.selectors ?? [];
    const tsRP = first(payloads, PayloadType.TSr)?.selectors ?? [];
    const keP = this.opts.inAuth ? undefined : first(payloads, PayloadType.KE);
    const tooMany = tsLimitViolation(tsIP, tsRP);
    if (tooMany !== undefined) throw new IkeError(NotifyType.TS_UNACCEPTABLE, `peer proposed ${tooMany}`);
    let narrowedTooMany: string | undefined;
    const configs = this.opts.rekey !== undefined ? [this.opts.rekey.config] : (sa.conn?.children ?? []);
    let found: { config: ChildConfig; s: SelectedProposal; tsI: TrafficSelector[]; tsR: TrafficSelector[] } | undefined;
    let tsFailed = false;
    let wantGroup: number | undefined;
    for (const config of configs) {
      const tsI = narrowTs(tsIP, resolveTs(config.remoteTs, sa.remote.address, dynamicSelectors(sa, 'remote')));
      const tsR = narrowTs(tsRP, resolveTs(config.localTs, sa.local.address, dynamicSelectors(sa, 'local')));
      if (tsI.length === 0 || tsR.length === 0) {
        tsFailed = true;
        continue;
      }
      const narrowedViolation = tsLimitViolation(tsI, tsR);
      if (narrowedViolation !== undefined) {
        narrowedTooMany = narrowedViolation;
        tsFailed = true;
        continue;
      }
      let ours = parseProposals(config.proposals, config.protocol);
      let peer = theirs;
      if (this.opts.inAuth) {
        ours = withKe(ours, []);
        peer = withKe(peer, []);
      }
      // Outside IKE_AUTH a PFS group on one side only does not match (as strongSwan): NO_PROPOSAL_CHOSEN.
      const s = selectProposal(ours, peer, core.config.preferConfiguredProposals === false);
      if (s === undefined) continue;
      if (!this.opts.inAuth && s.ke !== KeGroup.NONE && keP?.group !== s.ke) {
        const peerProp = peer.find((p) => p.number === s.number);
        if (
          keP !== undefined &&
          peerProp?.ke.includes(keP.group) === true &&
          ours.some((p) => p.ke.includes(keP.group))
        ) {
          found = { config, s: { ...s, ke: keP.group }, tsI, tsR };
          break;
        }
        wantGroup = s.ke;
        continue;
      }
      found = { config, s, tsI, tsR };
      break;
    }
    if (found === undefined) {
      if (wantGroup !== undefined)
        throw new IkeError(NotifyType.INVALID_KE_PAYLOAD, `PFS group ${wantGroup} required`, u16(wantGroup));
      if (tsFailed && configs.length > 0)
        throw new IkeError(
          NotifyType.TS_UNACCEPTABLE,
          narrowedTooMany === undefined ? 'traffic selectors unacceptable' : `narrowing gives ${narrowedTooMany}`,
        );
      throw new IkeError(NotifyType.NO_PROPOSAL_CHOSEN, 'no acceptable CHILD_SA proposal');
    }
    const child = core.newChildSa(found.config);
    child.rekeyOf = this.opts.rekey?.id;
    child.spiOut = Buffer.from(found.s.spi);
    const wantsTransport = findNotify(payloads, NotifyType.USE_TRANSPORT_MODE) !== undefined;
    child.mode = wantsTransport && found.config.mode === 'transport' ? 'transport' : 'tunnel';
    child.tsLocal = found.tsR.map(copyTs);
    child.tsRemote = found.tsI.map(copyTs);
    let gir: Buffer | undefined;
    if (this.opts.inAuth) {
      child.nonceI = sa.nonceI;
      child.nonceR = sa.nonceR;
    } else {
      child.nonceI = checkNonce(first(payloads, PayloadType.NONCE)?.data);
      child.nonceR = core.rng.bytes(core.nonceLength);
      if (found.s.ke !== KeGroup.NONE && keP !== undefined) {
        this.ke = createKeyExchange(found.s.ke, core.rng);
        gir = this.sharedSecret(keP.data);
      }
    }
    this.tsI = found.tsI;
    this.tsR = found.tsR;
    this.selected = found.s;
    this.child = child;
    this.finish(sa, child, found.s, gir);
  }

  buildR(ctx: TaskContext): Payload[] {
    const child = this.child;
    if (this.skipped || this.waiting) return [];
    if (child === undefined || this.selected === undefined) throw new Error('CHILD_SA response before request');
    const out: Payload[] = [];
    if (child.mode === 'transport') out.push(notify(NotifyType.USE_TRANSPORT_MODE));
    out.push(encodeSa([selectedAsProposal({ ...this.selected, spi: child.spiIn })]));
    if (!this.opts.inAuth) {
      out.push({ type: PayloadType.NONCE, data: child.nonceR });
      if (this.ke !== undefined) out.push({ type: PayloadType.KE, group: this.ke.group, data: this.ke.publicKey });
    }
    out.push({ type: PayloadType.TSi, selectors: this.tsI }, { type: PayloadType.TSr, selectors: this.tsR });
    void ctx;
    return out;
  }

  completed(ctx: TaskContext): void {
    // Responder: the CHILD_SA is usable once the response is on its way.
    if (this.child !== undefined && !this.child.createdAsInitiator && this.child.keys !== undefined)
      ctx.core.installChild(ctx.sa, this.child, ctx.nowMs);
  }

  failed(ctx: TaskContext, reason: string, notifyType: number): void {
    const name = this.opts.config?.name ?? this.child?.config.name ?? '?';
    ctx.core.emit({ type: 'childSaFailed', ikeSaId: ctx.sa.id, name, notifyType, reason });
    this.child = undefined;
  }

  private sharedSecret(peerPublic: Buffer): Buffer {
    if (this.ke === undefined) throw new Error('no key exchange');
    try {
      return this.ke.computeSharedSecret(peerPublic);
    } catch (e) {
      if (e instanceof CryptoError) throw new IkeError(NotifyType.INVALID_SYNTAX, `bad KE payload: ${e.message}`);
      throw e;
    }
  }

  private finish(sa: IkeSa, child: ChildSa, s: SelectedProposal, gir: Buffer | undefined): void {
    if (sa.prf === undefined || sa.keys === undefined) throw new Error('CHILD_SA before IKE keys');
    child.proposal = s;
    child.protocol = s.protocol === 'ah' ? 'ah' : 'esp';
    child.keys = deriveChildKeys(sa.prf, sa.keys.skD, s, child.nonceI, child.nonceR, gir);
    void EsnId;
  }
}

function copyTs(t: TrafficSelector): TrafficSelector {
  return { ...t, startAddr: Buffer.from(t.startAddr), endAddr: Buffer.from(t.endAddr) };
}
