/**
 * From typed `ip xfrm` commands to the kernel boundary's argument objects (src/kernel/kernel-ipsec.ts), with
 * Linux's meaning:
 *
 * - `state add` -> AddSaArgs. The direction comes from `dir in|out`, else from whether dst (inbound) or src
 *   (outbound) is one of this host's addresses. The SA's selector pairs are (local, remote) seen from this
 *   host, so `sel src S dst D` is (S, D) outbound and (D, S) inbound; without `sel` the SA accepts any inner
 *   addresses of either family, as Linux's all-zero selector does.
 * - `policy add` -> AddPolicyArgs. `action block` -> discard; `action allow` with a tmpl -> protect through the
 *   SAs of the tmpl's reqid; `action allow` without a tmpl -> bypass. Local is the source of `out` traffic and
 *   the destination of `in`/`fwd` traffic (RFC 4301 4.4.1).
 */
import type { AddPolicyArgs, AddSaArgs, SaId, SelectorInput } from '../kernel/kernel-ipsec.js';
import type { PortSelectorInput } from '../spd/selector.js';
import type { XfrmPolicyAdd, XfrmSelector, XfrmStateAdd, XfrmStateId } from './xfrm-command.js';
import { resolveStateAlgorithms } from './state-algorithms.js';
import { XfrmError } from './xfrm-error.js';

const TYPE_CODE_PROTOCOLS: ReadonlySet<number> = new Set([1, 58, 135]);

export interface StateMappingOptions {
  /** True for an address of this host; used when the line has no `dir`. */
  readonly isLocalAddress?: (address: string) => boolean;
}

/** The SA's direction as seen from this host. Throws XfrmError when it cannot be told. */
export function stateIsInbound(cmd: XfrmStateAdd, options: StateMappingOptions = {}): boolean {
  if (cmd.dir !== undefined) return cmd.dir === 'in';
  const isLocal = options.isLocalAddress;
  const dstLocal = isLocal?.(cmd.dst) ?? false;
  const srcLocal = isLocal?.(cmd.src) ?? false;
  if (dstLocal !== srcLocal) return dstLocal;
  const why = dstLocal
    ? 'both src and dst are addresses of this host'
    : 'neither src nor dst is an address of this host';
  throw new XfrmError(
    'dst',
    `cannot tell whether the SA is inbound or outbound: ${why}`,
    cmd.positions['dst'],
    'add dir in or dir out',
  );
}

/** One selector pair from an XFRM selector, seen from this host. */
export function selectorInput(sel: XfrmSelector, inbound: boolean): SelectorInput {
  const local = inbound ? sel.dst : sel.src;
  const remote = inbound ? sel.src : sel.dst;
  if (sel.proto === undefined) return { local, remote };
  if (TYPE_CODE_PROTOCOLS.has(sel.proto)) {
    if (sel.type === undefined) {
      if (sel.code !== undefined) {
        throw new XfrmError('code', 'an ICMP code selector needs a type', undefined, 'add type N');
      }
      return { local, remote, protocol: sel.proto };
    }
    return { local, remote, protocol: sel.proto, icmp: { type: sel.type, code: sel.code ?? 'any' } };
  }
  const port = (p: number | undefined): PortSelectorInput => (p === undefined ? 'any' : p);
  const localPort = port(inbound ? sel.dport : sel.sport);
  const remotePort = port(inbound ? sel.sport : sel.dport);
  return { local, remote, protocol: sel.proto, localPort, remotePort };
}

const ANY_SELECTORS: readonly SelectorInput[] = [
  { local: '0.0.0.0/0', remote: '0.0.0.0/0' },
  { local: '::/0', remote: '::/0' },
];

/** `state add` -> AddSaArgs. Throws XfrmError (bad algorithm or key, unknown direction). */
export function stateToAddSaArgs(cmd: XfrmStateAdd, options: StateMappingOptions = {}): AddSaArgs {
  const algs = resolveStateAlgorithms(cmd);
  const inbound = stateIsInbound(cmd, options);
  const lifetime = cmd.limits;
  return {
    spi: cmd.spi,
    protocol: cmd.proto,
    mode: cmd.mode,
    inbound,
    src: cmd.src,
    dst: cmd.dst,
    reqid: cmd.reqid,
    ...(algs.enc ? { enc: { id: algs.enc.id, key: Uint8Array.from(algs.enc.key) } } : {}),
    ...(algs.integ ? { integ: { id: algs.integ.id, key: Uint8Array.from(algs.integ.key) } } : {}),
    replayWindow: cmd.replayWindow,
    esn: cmd.flags.includes('esn'),
    ...(cmd.encap ? { encap: { sport: cmd.encap.sport, dport: cmd.encap.dport } } : {}),
    ...(lifetime ? { lifetime } : {}),
    selectors: cmd.sel === undefined ? ANY_SELECTORS : [selectorInput(cmd.sel, inbound)],
    ...(cmd.tfcpad !== undefined ? { tfcPadding: cmd.tfcpad } : {}),
  };
}

/** `state del|get` -> the SA's identity (RFC 4301 4.1: SPI, protocol, destination). */
export function stateIdOf(cmd: XfrmStateId | XfrmStateAdd): SaId {
  return { protocol: cmd.proto, spi: cmd.spi, dst: cmd.dst };
}

/** `policy add` -> AddPolicyArgs. Throws XfrmError for a protect template without a reqid. */
export function policyToAddPolicyArgs(cmd: XfrmPolicyAdd): AddPolicyArgs {
  const selector = selectorInput(cmd.sel, cmd.dir !== 'out');
  const priority = cmd.priority === undefined ? {} : { priority: cmd.priority };
  if (cmd.action === 'block') return { direction: cmd.dir, selector, action: 'discard', ...priority };
  const tmpl = cmd.tmpls[0];
  if (tmpl === undefined) return { direction: cmd.dir, selector, action: 'bypass', ...priority };
  if (tmpl.reqid === 0) {
    throw new XfrmError(
      'tmpl',
      'the template has no reqid; ts-ipsec links policies to SAs by reqid only',
      tmpl.at,
      'add reqid N to the tmpl and the same reqid N to the states',
    );
  }
  return { direction: cmd.dir, selector, action: 'protect', reqid: tmpl.reqid, ...priority };
}
