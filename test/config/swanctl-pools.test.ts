/** swanctl.conf `pools` section, connection `pools` and `vips` (swanctl.conf(5)), and what the daemon takes from them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSwanctlConf } from '../../src/config/swanctl-conf.js';
import { ConfigError, formatDiagnostic } from '../../src/config/config-error.js';
import { mapSwanctlConfig } from '../../src/daemon/config-map.js';
import { poolsFromConfig } from '../../src/pools/from-config.js';

const FILE = '/etc/swanctl/swanctl.conf';

function errorsOf(text: string): string[] {
  try {
    parseSwanctlConf(text, { filename: FILE });
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return e.diagnostics.map(formatDiagnostic);
  }
  assert.fail('expected a ConfigError');
}

const GATEWAY = `
connections {
  rw {
    pools = rw-v4, rw-v6
    local { auth = psk
      id = gw.example.org }
    remote { auth = psk }
    children { rw { local_ts = 0.0.0.0/0, ::/0 } }
  }
  client {
    vips = 0.0.0.0, ::
    remote_addrs = 203.0.113.1
    local { auth = psk
      id = carol@example.org }
    remote { auth = psk }
    children { home { remote_ts = 0.0.0.0/0 } }
  }
}
pools {
  rw-v4 {
    addrs = 198.51.100.128/25
    dns = 198.51.100.53, 2001:db8::53
    split_include = 203.0.113.0/24, 198.51.100.1
  }
  rw-v6 {
    addrs = 2001:db8:1::10-2001:db8:1::ff
  }
}
`;

test('pools, connection pools and vips are read into the model', () => {
  const { config, warnings } = parseSwanctlConf(GATEWAY, { filename: FILE });
  assert.deepEqual(
    warnings.map((w) => w.message).filter((m) => /pool|vips/.test(m)),
    [],
  );
  const [v4, v6] = config.pools;
  assert.equal(config.pools.length, 2);
  assert.equal(v4?.name, 'rw-v4');
  assert.equal(v4?.addrs, '198.51.100.128/25');
  assert.equal(v4?.family, 4);
  assert.deepEqual(v4?.dns, [
    { family: 4, address: '198.51.100.53' },
    { family: 6, address: '2001:db8::53' },
  ]);
  assert.deepEqual(v4?.splitInclude, ['203.0.113.0/24', '198.51.100.1/32']);
  assert.deepEqual(v4?.keyOrigins['addrs'], { file: FILE, line: 21, column: 5 });
  assert.equal(v6?.family, 6);
  assert.deepEqual(v6?.dns, []);
  const [rw, client] = config.connections;
  assert.deepEqual(rw?.pools, ['rw-v4', 'rw-v6']);
  assert.deepEqual(rw?.vips, []);
  assert.deepEqual(client?.vips, [
    { family: 4, address: '0.0.0.0' },
    { family: 6, address: '::' },
  ]);
  assert.deepEqual(client?.pools, []);
});

test('pool errors name file:line and how to fix them', () => {
  assert.deepEqual(errorsOf('connections { c {\n  pools = nope } }\npools { p {\n  addrs = 198.51.100.0/24 } }'), [
    "/etc/swanctl/swanctl.conf:2:3: connection 'c' uses pool 'nope', which is not defined (define it in pools { nope { addrs = ... } } or use one of: p)",
  ]);
  assert.deepEqual(errorsOf('pools {\n  p { dns = 198.51.100.53 } }'), [
    "/etc/swanctl/swanctl.conf:2:3: pool 'p' has no addrs (add addrs = SUBNET or FROM-TO, e.g. addrs = 198.51.100.128/25)",
  ]);
  assert.deepEqual(errorsOf('pools { p {\n  addrs = 198.51.100.0/40 } }'), [
    "/etc/swanctl/swanctl.conf:2:11: addrs: '198.51.100.0/40' is not a prefix or range (write e.g. 198.51.100.128/25 or FROM-TO)",
  ]);
  assert.deepEqual(
    errorsOf('pools { a { addrs = 198.51.100.0/24 }\n b {\n  addrs = 198.51.100.200-198.51.100.210 } }'),
    ["/etc/swanctl/swanctl.conf:3:11: pool 'b' overlaps pool 'a' (pools must not overlap (swanctl.conf(5)))"],
  );
  assert.deepEqual(errorsOf('pools { p { addrs = 198.51.100.0/24\n  dns = resolver } }'), [
    "/etc/swanctl/swanctl.conf:2:9: dns: 'resolver' is not an IP address (write addresses separated by commas)",
  ]);
  assert.deepEqual(errorsOf('pools { p { addrs = 198.51.100.0/24\n  split_include = 203.0.113.0/99 } }'), [
    "/etc/swanctl/swanctl.conf:2:19: split_include: '203.0.113.0/99' is not a subnet (write CIDR subnets such as 203.0.113.0/24)",
  ]);
  assert.deepEqual(errorsOf('pools { p { addrs = 198.51.100.0/24\n  nbns = 198.51.100.5 } }'), [
    "/etc/swanctl/swanctl.conf:2:3: 'nbns' is not supported: handing out NBNS servers is not supported (remove the key)",
  ]);
  assert.deepEqual(errorsOf('connections { c {\n  vips = 0.0.0.0, home } }'), [
    "/etc/swanctl/swanctl.conf:2:10: vips: 'home' is not an IP address (write addresses separated by commas)",
  ]);
});

test('the daemon takes vips and pools into the engine connections and the pools along', () => {
  const { config } = parseSwanctlConf(GATEWAY, { filename: FILE });
  const mapped = mapSwanctlConfig(config);
  const [rw, client] = mapped.connections;
  assert.deepEqual(rw?.ike.pools, ['rw-v4', 'rw-v6']);
  assert.equal(rw?.ike.vips, undefined);
  assert.deepEqual(client?.ike.vips, ['0.0.0.0', '::']);
  assert.deepEqual(
    mapped.pools.map((p) => p.name),
    ['rw-v4', 'rw-v6'],
  );
});

test('the parsed pools become the engine pools', () => {
  const { config } = parseSwanctlConf(GATEWAY, { filename: FILE });
  const pools = poolsFromConfig(config.pools);
  assert.deepEqual(pools.acquire(['rw-v4', 'rw-v6'], 'carol@example.org', 6), {
    ok: true,
    pool: 'rw-v6',
    address: '2001:db8:1::10',
    reused: false,
  });
  assert.deepEqual(pools.attributes(['rw-v4']), {
    dns: ['198.51.100.53', '2001:db8::53'],
    splitInclude: ['203.0.113.0/24', '198.51.100.1/32'],
  });
});
