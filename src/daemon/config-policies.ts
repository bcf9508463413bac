/**
 * Policies that come from the configuration alone, before any IKE: trap policies (`start_action = trap`,
 * PROTECT with no SA yet, so the first packet raises an acquire and never leaves in the clear) and the
 * `mode = pass` / `mode = drop` shunts (bypass and discard, RFC 4301 4.4.1). Pure: configuration in,
 * install requests for the policy installer out.
 */
import type { TrafficSelector as SwanTs } from '../config/swanctl-model.js';
import type { SelectorInput } from '../spd/selector.js';
import type { DaemonConnection } from './config-map.js';
import type { InstallRequest } from './policy-installer.js';

/** The address part of a traffic selector as written (`192.0.2.0/24[tcp/80]` -> `192.0.2.0/24`). */
function tsPrefix(text: string): string {
  return text.replace(/\[.*$/, '');
}

/** An address or prefix as a prefix: a bare address becomes /32 or /128. */
function asPrefix(addr: string): string {
  return addr.includes('/') ? addr : `${addr}/${addr.includes(':') ? 128 : 32}`;
}

/** A port range narrower than any, or undefined. */
function portRange(ts: SwanTs): { start: number; end: number } | undefined {
  if (ts.opaque || (ts.portFrom === 0 && ts.portTo === 65535)) return undefined;
  return { start: ts.portFrom, end: ts.portTo };
}

/** A selector's address as configured, `dynamic` standing for the connection's own address. */
function addressOf(ts: SwanTs, dynamic: string | undefined): string | undefined {
  return ts.address.kind === 'dynamic' ? dynamic : tsPrefix(ts.text);
}

/** The trap policies of one child: every (local, remote) pair of its configured selectors. */
export function trapRequest(conn: DaemonConnection, childName: string, reqid: number): InstallRequest | undefined {
  const swan = conn.children.get(childName);
  if (swan === undefined) return undefined;
  const locals = swan.localTs.map((t) => addressOf(t, conn.localAddr)).filter((a) => a !== undefined);
  const remotes = swan.remoteTs.map((t) => addressOf(t, conn.remoteAddr)).filter((a) => a !== undefined);
  const policies = [];
  const routes = [];
  for (const remote of remotes) {
    const sameFamily = locals.filter((l) => l.includes(':') === remote.includes(':'));
    for (const local of sameFamily)
      policies.push({ direction: 'out' as const, selector: { local, remote }, action: 'protect' as const, reqid });
    if (sameFamily.length > 0) routes.push({ prefix: asPrefix(remote), locals: sameFamily.map(asPrefix) });
  }
  return { label: `trap policy ${conn.ike.name}/${childName}`, policies, routes };
}

/**
 * `mode = pass` and `mode = drop` children. A pass child's traffic is kept out of the TUN by a routing rule
 * as narrow as its selector (local and remote prefixes, protocol, the ports of both sides), so it never widens
 * what leaves in the clear; a drop child's traffic is routed into the TUN, where the discard policy drops it.
 */
export function shuntRequests(conn: DaemonConnection): InstallRequest[] {
  const out: InstallRequest[] = [];
  for (const child of conn.shunts) {
    for (const lts of child.localTs)
      for (const rts of child.remoteTs) {
        const local = addressOf(lts, conn.localAddr);
        const remote = addressOf(rts, conn.remoteAddr);
        if (local === undefined || remote === undefined || local.includes(':') !== remote.includes(':')) continue;
        const protocol = lts.protocol || rts.protocol;
        const localPort = portRange(lts);
        const remotePort = portRange(rts);
        const selector: SelectorInput = {
          local,
          remote,
          ...(protocol !== 0 ? { protocol } : {}),
          ...(localPort ? { localPort } : {}),
          ...(remotePort ? { remotePort } : {}),
        };
        const pass = child.mode === 'pass';
        const prefix = asPrefix(remote);
        out.push({
          label: `${child.mode} policy ${lts.text} === ${rts.text} (${conn.ike.name}/${child.name})`,
          policies: [{ direction: 'out', selector, action: pass ? 'bypass' : 'discard' }],
          routes: pass ? [] : [{ prefix, locals: [] }],
          ...(pass
            ? { bypass: [{ prefix, local: asPrefix(local), protocol, ports: remotePort, localPorts: localPort }] }
            : {}),
        });
      }
  }
  return out;
}
