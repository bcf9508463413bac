/**
 * The `pools` section (swanctl.conf(5) pools.<name>): `addrs` (a CIDR subnet or FROM-TO range, required), `dns` and
 * `split_include`; and the checks that tie connections to it (`pools` names a defined pool, pools do not overlap).
 */
import { parseIp } from './addresses.js';
import type { SettingsSection } from './settings-tree.js';
import { ValueError, splitList } from './values.js';
import { POOL_KEYS } from './swanctl-keys.js';
import { keyOriginsOf, type Findings } from './swanctl-findings.js';
import type { AddressPoolConfig, IkeConnection, IpAddress } from './swanctl-model.js';
import { PoolSpecError, parsePoolRange } from '../pools/address-pool.js';

function parseIpList(v: string): IpAddress[] {
  return splitList(v).map((item) => {
    const ip = parseIp(item);
    if (ip === undefined) throw new ValueError(`'${item}' is not an IP address`, 'write addresses separated by commas');
    return ip;
  });
}

function parseSubnets(v: string): string[] {
  return splitList(v).map((item) => {
    const [addr, prefix, extra] = item.split('/');
    const ip = addr === undefined ? undefined : parseIp(addr);
    const max = ip?.family === 4 ? 32 : 128;
    const ok =
      ip !== undefined &&
      extra === undefined &&
      (prefix === undefined || /^\d{1,3}$/.test(prefix)) &&
      Number(prefix ?? 0) <= max;
    if (!ok) throw new ValueError(`'${item}' is not a subnet`, 'write CIDR subnets such as 203.0.113.0/24');
    return prefix === undefined ? `${ip.address}/${max}` : `${ip.address}/${prefix}`;
  });
}

/** The pools in file order; a pool without a valid `addrs` is an error and left out. */
export function buildPools(f: Findings, section: SettingsSection): AddressPoolConfig[] {
  for (const key of section.keys.values())
    f.warn(key.origin, `key '${key.name}' directly in 'pools' is ignored`, 'put it inside a pool: pools { NAME { } }');
  const out: AddressPoolConfig[] = [];
  const ranges: { name: string; start: bigint; end: bigint; family: number }[] = [];
  for (const s of section.sections.values()) {
    const where = `pool '${s.name}'`;
    f.checkKeys(s, POOL_KEYS, where);
    for (const sub of s.sections.values())
      f.error(sub.origin, `unexpected section '${sub.name}' in ${where}`, 'a pool holds keys only');
    const addrsKey = s.keys.get('addrs');
    if (addrsKey === undefined || addrsKey.value === null) {
      f.error(s.origin, `${where} has no addrs`, 'add addrs = SUBNET or FROM-TO, e.g. addrs = 198.51.100.128/25');
      continue;
    }
    let range: ReturnType<typeof parsePoolRange>;
    try {
      range = parsePoolRange(addrsKey.value);
    } catch (e) {
      if (!(e instanceof PoolSpecError)) throw e;
      f.error(addrsKey.valueOrigin, `addrs: ${e.message}`);
      continue;
    }
    const start = range.base;
    const end = range.base + BigInt(range.size) - 1n;
    const clash = ranges.find((r) => r.family === range.family && r.start <= end && start <= r.end);
    if (clash !== undefined)
      f.error(
        addrsKey.valueOrigin,
        `${where} overlaps pool '${clash.name}'`,
        'pools must not overlap (swanctl.conf(5))',
      );
    ranges.push({ name: s.name, start, end, family: range.family });
    out.push({
      name: s.name,
      origin: s.origin,
      keyOrigins: keyOriginsOf(s.keys),
      addrs: addrsKey.value.trim(),
      family: range.family,
      dns: f.read(s, 'dns', parseIpList) ?? [],
      splitInclude: f.read(s, 'split_include', parseSubnets) ?? [],
    });
  }
  return out;
}

/** `vips`: addresses, `0.0.0.0` / `::` for any. */
export function parseVips(v: string): IpAddress[] {
  return parseIpList(v);
}

/** Every name in a connection's `pools` must be a pool of the `pools` section. */
export function checkPoolReferences(
  f: Findings,
  connections: readonly IkeConnection[],
  pools: readonly AddressPoolConfig[],
): void {
  for (const c of connections) {
    for (const name of c.pools) {
      if (pools.some((p) => p.name === name)) continue;
      const origin = c.keyOrigins['pools'] ?? c.origin;
      const known = pools.map((p) => p.name);
      f.error(
        origin,
        `connection '${c.name}' uses pool '${name}', which is not defined`,
        known.length > 0
          ? `define it in pools { ${name} { addrs = ... } } or use one of: ${known.join(', ')}`
          : `define it in pools { ${name} { addrs = ... } } (external pools such as radius or dhcp are not supported)`,
      );
    }
  }
}
