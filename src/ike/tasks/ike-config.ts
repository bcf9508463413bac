/**
 * Configuration payload exchange in IKE_AUTH (RFC 7296 2.19, 3.15): virtual IPs, DNS servers and split-include
 * subnets, as strongSwan's ike_config task.
 *
 *   HDR, SK { IDi, AUTH, CP(CFG_REQUEST), SAi2, TSi, TSr } -->
 *                                   <-- HDR, SK { IDr, AUTH, CP(CFG_REPLY), SAr2, TSi, TSr }
 *
 * Initiator with `vips`: asks for one address per family (a specific one when configured) and the DNS servers;
 * the reply's addresses become our virtual IPs, and until then `dynamic` in TSi stands for the whole address space
 * of each family asked for. Responder with `pools`: leases one address per requested family for the peer's identity;
 * when none can be had it answers N(INTERNAL_ADDRESS_FAILURE), and when the peer asked for none N(FAILED_CP_REQUIRED);
 * either way the IKE_AUTH builds no CHILD_SA (RFC 7296 3.15.4, as strongSwan). `dynamic` in the peer's selectors
 * stands for its virtual IPs, so TSi is narrowed to them.
 */
import { ParseError } from '../../common/errors.js';
import { LogLevel } from '../../common/log.js';
import { CfgType, CpAttr, ExchangeType, NotifyType, PayloadType } from '../codec/constants.js';
import { decodeConfigAttributes, encodeConfigAttribute } from '../codec/cp-attributes.js';
import type { ConfigAttribute } from '../codec/cp-attributes.js';
import type { CpPayload, Payload } from '../codec/types.js';
import { IkeError } from '../errors.js';
import { decodeIdentity, formatIdentity } from '../identity.js';
import type { IkeSa } from '../sa.js';
import type { Task, TaskContext, TaskResult } from '../task.js';
import { familyOf, virtualIpsOf } from '../virtual-ips.js';
import { IkeSaState } from '../sa-state.js';
import { authenticationPending, eapIdentityOf } from './ike-eap.js';
import type { IpFamily } from '../virtual-ips.js';

const ADDRESS_ATTR: Readonly<Record<IpFamily, number>> = {
  4: CpAttr.INTERNAL_IP4_ADDRESS,
  6: CpAttr.INTERNAL_IP6_ADDRESS,
};
const DNS_ATTR: Readonly<Record<IpFamily, number>> = { 4: CpAttr.INTERNAL_IP4_DNS, 6: CpAttr.INTERNAL_IP6_DNS };
const SUBNET_ATTR: Readonly<Record<IpFamily, number>> = {
  4: CpAttr.INTERNAL_IP4_SUBNET,
  6: CpAttr.INTERNAL_IP6_SUBNET,
};
const ANY: Readonly<Record<string, IpFamily>> = { '0.0.0.0': 4, '::': 6 };

function cpOf(payloads: readonly Payload[], cfgType: number): CpPayload | undefined {
  return payloads.find((p): p is CpPayload => p.type === PayloadType.CP && p.cfgType === cfgType);
}

/** The attributes of a CP payload; a malformed one fails the task (and only it). */
function attributesOf(cp: CpPayload): ConfigAttribute[] {
  try {
    return decodeConfigAttributes(cp.attributes);
  } catch (e) {
    if (e instanceof ParseError) throw new IkeError(NotifyType.INVALID_SYNTAX, `malformed CP payload: ${e.message}`);
    throw e;
  }
}

function peerIdentity(sa: IkeSa): string {
  const eap = eapIdentityOf(sa);
  if (eap !== undefined) return eap;
  const id = sa.initiator ? sa.idR : sa.idI;
  const decoded = id === undefined ? undefined : decodeIdentity(id.type, id.data);
  return decoded === undefined ? '%any' : formatIdentity(decoded);
}

function addressOf(a: ConfigAttribute): string | undefined {
  return a.kind === 'address' || a.kind === 'address6' ? a.address : undefined;
}

export class IkeConfigTask implements Task {
  readonly kind = 'ike-config';
  readonly exchangeType = ExchangeType.IKE_AUTH;
  /** Responder: the CFG_REPLY to send. */
  private reply: CpPayload | undefined;
  /** Virtual IPs were assigned (to us or by us) in this exchange. */
  private assigned = false;
  /** IKE_AUTH with EAP (ike-eap.ts): the CP went in the first round; the first request is answered in the last. */
  private asked = false;
  private authRequest: readonly Payload[] | undefined;

  buildI(ctx: TaskContext): Payload[] {
    const vips = ctx.sa.conn?.vips ?? [];
    if (vips.length === 0 || this.asked) return [];
    this.asked = true;
    const state = virtualIpsOf(ctx.sa);
    const attributes: ConfigAttribute[] = [];
    for (const vip of vips) {
      const family = familyOf(vip);
      if (family === undefined) continue;
      if (!state.requested.includes(family)) state.requested.push(family);
      const specific = ANY[vip] === undefined ? vip : undefined;
      attributes.push(
        family === 4
          ? { kind: 'address', type: ADDRESS_ATTR[4], ...(specific === undefined ? {} : { address: specific }) }
          : {
              kind: 'address6',
              type: ADDRESS_ATTR[6],
              ...(specific === undefined ? {} : { address: specific, prefix: 128 }),
            },
      );
    }
    for (const family of state.requested) attributes.push({ kind: 'address', type: DNS_ATTR[family] });
    return [{ type: PayloadType.CP, cfgType: CfgType.CFG_REQUEST, attributes: attributes.map(encodeConfigAttribute) }];
  }

  processI(ctx: TaskContext, payloads: readonly Payload[]): TaskResult {
    const { sa, core } = ctx;
    if (sa.state === IkeSaState.CONNECTING) return 'retry'; // EAP rounds: the reply comes with the last
    const state = sa.vips;
    if (state === undefined || state.requested.length === 0) return 'done';
    const requested = state.requested;
    state.requested = [];
    const cp = cpOf(payloads, CfgType.CFG_REPLY);
    if (cp === undefined) {
      core.log.log('ike', LogLevel.CONTROL, 'peer assigned no virtual IP (no CP(CFG_REPLY))', sa.label);
      return 'done';
    }
    for (const a of attributesOf(cp)) {
      const address = addressOf(a);
      if (address === undefined) {
        if (a.kind === 'subnet' && a.subnet !== undefined) state.splitInclude.push(a.subnet);
        continue;
      }
      const family = familyOf(address);
      if (family === undefined) continue;
      if (a.type === ADDRESS_ATTR[family] && ANY[address] === undefined && requested.includes(family)) {
        if (!state.local.includes(address)) state.local.push(address);
      } else if (a.type === DNS_ATTR[family] && !state.dns.includes(address)) state.dns.push(address);
    }
    if (state.local.length === 0) {
      core.log.log('ike', LogLevel.CONTROL, 'peer assigned no virtual IP', sa.label);
      return 'done';
    }
    core.log.log('ike', LogLevel.CONTROL, `installing virtual IP ${state.local.join(', ')}`, sa.label);
    if (state.dns.length > 0)
      core.log.log('ike', LogLevel.CONTROL, `installing DNS server ${state.dns.join(', ')}`, sa.label);
    this.assigned = true;
    return 'done';
  }

  processR(ctx: TaskContext, request: readonly Payload[]): void {
    const { sa, core } = ctx;
    const payloads = (this.authRequest ??= request);
    if (authenticationPending(sa)) return;
    const cp = cpOf(payloads, CfgType.CFG_REQUEST);
    const names = sa.conn?.pools ?? [];
    const pools = core.config.pools;
    if (names.length === 0 || pools === undefined) return;
    if (cp === undefined) {
      // RFC 7296 3.10.1: our policy hands out addresses, the peer did not ask for one.
      virtualIpsOf(sa).failed = true;
      throw new IkeError(NotifyType.FAILED_CP_REQUIRED, 'expected a virtual IP request (CP), got none');
    }
    const families: IpFamily[] = [];
    for (const a of attributesOf(cp)) {
      if (a.type === CpAttr.INTERNAL_IP4_ADDRESS && !families.includes(4)) families.push(4);
      if (a.type === CpAttr.INTERNAL_IP6_ADDRESS && !families.includes(6)) families.push(6);
    }
    const state = virtualIpsOf(sa);
    const identity = peerIdentity(sa);
    const missing: string[] = [];
    for (const family of families) {
      const r = pools.acquire(names, identity, family);
      if (r.ok) {
        state.leases.push({ pool: r.pool, identity, address: r.address });
        state.remote.push(r.address);
        core.log.log('cfg', LogLevel.CONTROL, `assigning virtual IP ${r.address} to peer '${identity}'`, sa.label);
      } else
        missing.push(
          r.reason === 'exhausted'
            ? `IPv${family} pool${names.length > 1 ? 's' : ''} ${names.join(', ')} full`
            : `no IPv${family} pool among ${names.join(', ')}`,
        );
    }
    if (families.length > 0 && state.remote.length === 0) {
      state.failed = true;
      throw new IkeError(
        NotifyType.INTERNAL_ADDRESS_FAILURE,
        `no virtual IP found for peer '${identity}' (${missing.join('; ')})`,
      );
    }
    const { dns, splitInclude } = pools.attributes(names);
    state.dns = [...dns];
    state.splitInclude = [...splitInclude];
    const reply: ConfigAttribute[] = state.remote.map((address) =>
      familyOf(address) === 4
        ? { kind: 'address', type: ADDRESS_ATTR[4], address }
        : { kind: 'address6', type: ADDRESS_ATTR[6], address, prefix: 128 },
    );
    for (const address of dns) {
      const family = familyOf(address);
      if (family !== undefined) reply.push({ kind: 'address', type: DNS_ATTR[family], address });
    }
    for (const subnet of splitInclude) {
      const family = familyOf(subnet.split('/')[0] ?? '');
      if (family !== undefined) reply.push({ kind: 'subnet', type: SUBNET_ATTR[family], subnet });
    }
    this.reply = { type: PayloadType.CP, cfgType: CfgType.CFG_REPLY, attributes: reply.map(encodeConfigAttribute) };
    this.assigned = state.remote.length > 0;
  }

  buildR(): Payload[] {
    return this.reply === undefined ? [] : [this.reply];
  }

  /** After the IKE_SA is established (and before the first CHILD_SA is installed): announce the virtual IPs. */
  completed(ctx: TaskContext): void {
    const v = ctx.sa.vips;
    if (!this.assigned || v === undefined) return;
    ctx.core.emit({
      type: 'virtualIpsAssigned',
      ikeSaId: ctx.sa.id,
      name: ctx.sa.conn?.name ?? '',
      local: [...v.local],
      remote: [...v.remote],
      dns: [...v.dns],
      splitInclude: [...v.splitInclude],
    });
  }
}
