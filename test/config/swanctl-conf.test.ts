import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseSwanctlConf, type SwanctlParseOptions } from '../../src/config/swanctl-conf.js';
import { ConfigError, formatDiagnostic } from '../../src/config/config-error.js';
import type { SwanctlParseResult } from '../../src/config/swanctl-model.js';
import { memoryFiles } from './memory-files.js';
import { sharedBench } from '../helpers/vectors.js';

const BENCH = sharedBench;
const FILE = '/etc/swanctl/swanctl.conf';

function parse(text: string, extra: Partial<SwanctlParseOptions> = {}): SwanctlParseResult {
  return parseSwanctlConf(text, { filename: FILE, ...extra });
}

function errorsOf(text: string, extra: Partial<SwanctlParseOptions> = {}): string[] {
  try {
    parse(text, extra);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return e.diagnostics.map(formatDiagnostic);
  }
  assert.fail('expected a ConfigError');
}

/** The model of one bench side, written out by hand from the file's text. */
function benchExpectation(
  file: string,
  localAddr: string,
  remoteAddr: string,
  localId: string,
  remoteId: string,
  localTs: string,
  remoteTs: string,
) {
  const o = (line: number, column: number) => ({ file, line, column });
  return {
    name: 'lab',
    origin: o(2, 3),
    keyOrigins: {
      version: o(3, 5),
      local_addrs: o(4, 5),
      remote_addrs: o(5, 5),
      encap: o(6, 5),
      proposals: o(7, 5),
    },
    version: 2,
    localAddrs: [{ kind: 'address', family: 4, address: localAddr }],
    remoteAddrs: [{ kind: 'address', family: 4, address: remoteAddr }],
    localPort: 500,
    remotePort: 500,
    proposals: [{ text: 'aes128gcm16-prfsha256-x25519', origin: o(7, 17) }],
    encap: true,
    mobike: true,
    dpdDelaySec: 0,
    dpdTimeoutSec: 0,
    rekeyTimeSec: 14400,
    reauthTimeSec: 0,
    overTimeSec: 1440,
    randTimeSec: 1440,
    fragmentation: 'yes',
    unique: 'no',
    keyingtries: 1,
    vips: [],
    pools: [],
    local: [
      {
        name: 'local',
        origin: o(8, 5),
        keyOrigins: { auth: o(8, 13), id: o(9, 13) },
        round: 0,
        auth: 'psk',
        authClass: 'psk',
        id: localId,
        certs: [],
        pubkeys: [],
        cacerts: [],
        revocation: 'relaxed',
      },
    ],
    remote: [
      {
        name: 'remote',
        origin: o(10, 5),
        keyOrigins: { auth: o(10, 14), id: o(11, 14) },
        round: 0,
        auth: 'psk',
        authClass: 'psk',
        id: remoteId,
        certs: [],
        pubkeys: [],
        cacerts: [],
        revocation: 'relaxed',
      },
    ],
    sendCert: 'ifasked',
    sendCertreq: true,
    children: [
      {
        name: 'net',
        origin: o(13, 7),
        keyOrigins: {
          local_ts: o(14, 9),
          remote_ts: o(15, 9),
          mode: o(16, 9),
          esp_proposals: o(17, 9),
          start_action: o(18, 9),
        },
        localTs: [
          {
            address: { kind: 'subnet', family: 4, address: localTs, prefix: 32 },
            protocol: 0,
            portFrom: 0,
            portTo: 65535,
            opaque: false,
            text: `${localTs}/32`,
          },
        ],
        remoteTs: [
          {
            address: { kind: 'subnet', family: 4, address: remoteTs, prefix: 32 },
            protocol: 0,
            portFrom: 0,
            portTo: 65535,
            opaque: false,
            text: `${remoteTs}/32`,
          },
        ],
        mode: 'tunnel',
        espProposals: [{ text: 'aes128gcm16', origin: o(17, 25) }],
        ahProposals: [],
        rekeyTimeSec: 3600,
        lifeTimeSec: 3960,
        randTimeSec: 360,
        rekeyBytes: 0,
        lifeBytes: 0,
        randBytes: 0,
        rekeyPackets: 0,
        lifePackets: 0,
        randPackets: 0,
        replayWindow: 32,
        startAction: 'none',
        dpdAction: 'clear',
        closeAction: 'none',
      },
    ],
  };
}

for (const [side, la, ra, lid, rid, lts, rts] of [
  ['left', '192.0.2.1', '192.0.2.2', 'left.lab', 'right.lab', '198.51.100.1', '203.0.113.1'],
  ['right', '192.0.2.2', '192.0.2.1', 'right.lab', 'left.lab', '203.0.113.1', '198.51.100.1'],
] as const) {
  test(`bench config swanctl-${side}.conf gives the expected model, without warnings`, () => {
    const file = `${BENCH}/swanctl-${side}.conf`;
    const seen: string[] = [];
    const { config, warnings } = parseSwanctlConf(readFileSync(file, 'utf8'), {
      filename: file,
      validateProposal: (p, kind) => {
        seen.push(`${kind}:${p}`);
        return undefined;
      },
    });
    assert.deepEqual(warnings, []);
    assert.deepEqual(seen.sort(), ['esp:aes128gcm16', 'ike:aes128gcm16-prfsha256-x25519']);
    assert.deepEqual(config.connections, [benchExpectation(file, la, ra, lid, rid, lts, rts)]);
    assert.equal(config.secrets.length, 1);
    const s = config.secrets[0];
    assert.equal(s?.name, 'ike-lab');
    assert.deepEqual(s?.ids, []);
    assert.equal(Buffer.from(s?.secret ?? []).toString('latin1'), 'lab-preshared-key-0123456789');
    assert.deepEqual(s?.secretOrigin, { file, line: 23, column: 21 });
    assert.deepEqual(config.secretOrigins, [{ file, line: 23, column: 21 }]);
    assert.deepEqual(config.files, [file]);
  });
}

test('the model is deeply frozen', () => {
  const { config } = parse('connections { c { local { auth = psk } remote { auth = psk } children { x { } } } }');
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.connections));
  assert.ok(Object.isFrozen(config.connections[0]?.children[0]?.localTs[0]?.address));
  assert.throws(() => {
    (config.connections[0] as { name: string }).name = 'changed';
  }, TypeError);
});

test("defaults: strongSwan's values for every absent key", () => {
  const { config, warnings } = parse('connections { minimal { children { only { } } } }');
  const c = config.connections[0];
  assert.ok(c);
  assert.equal(c.version, 0);
  assert.deepEqual(c.localAddrs, [{ kind: 'any' }]);
  assert.deepEqual(c.remoteAddrs, [{ kind: 'any' }]);
  assert.deepEqual([c.localPort, c.remotePort], [500, 500]);
  assert.deepEqual(
    c.proposals.map((p) => p.text),
    ['default'],
  );
  assert.deepEqual([c.encap, c.mobike, c.dpdDelaySec, c.dpdTimeoutSec], [false, true, 0, 0]);
  assert.deepEqual([c.rekeyTimeSec, c.reauthTimeSec, c.overTimeSec, c.randTimeSec], [14400, 0, 1440, 1440]);
  assert.deepEqual([c.fragmentation, c.unique, c.keyingtries], ['yes', 'no', 1]);
  assert.deepEqual(
    c.local.map((r) => [r.auth, r.id]),
    [['pubkey', undefined]],
  );
  assert.deepEqual(
    c.remote.map((r) => [r.auth, r.id]),
    [['pubkey', '%any']],
  );
  const ch = c.children[0];
  assert.ok(ch);
  assert.deepEqual(
    ch.localTs.map((t) => t.address.kind),
    ['dynamic'],
  );
  assert.deepEqual(
    ch.remoteTs.map((t) => t.address.kind),
    ['dynamic'],
  );
  assert.equal(ch.mode, 'tunnel');
  assert.deepEqual(
    ch.espProposals.map((p) => p.text),
    ['default'],
  );
  assert.deepEqual(ch.ahProposals, []);
  assert.deepEqual([ch.rekeyTimeSec, ch.lifeTimeSec, ch.randTimeSec], [3600, 3960, 360]);
  assert.deepEqual(
    [ch.rekeyBytes, ch.lifeBytes, ch.randBytes, ch.rekeyPackets, ch.lifePackets, ch.randPackets],
    [0, 0, 0, 0, 0, 0],
  );
  assert.deepEqual([ch.replayWindow, ch.startAction, ch.dpdAction, ch.closeAction], [32, 'none', 'clear', 'none']);
  assert.deepEqual(warnings.map(formatDiagnostic), [
    "/etc/swanctl/swanctl.conf:1:15: connection 'minimal' has no local section, so strongSwan's default auth = pubkey applies (add local { auth = ... } to say which authentication is meant)",
    "/etc/swanctl/swanctl.conf:1:15: connection 'minimal' has no remote section, so strongSwan's default auth = pubkey applies (add remote { auth = ... } to say which authentication is meant)",
  ]);
});

test('derived lifetimes: reauth only, both, explicit over/rand, child life and volume limits', () => {
  const t = (conn: string) =>
    parse(`connections { c { ${conn}\n local { auth = psk } remote { auth = psk } } }`).config.connections[0];
  const reauthOnly = t('reauth_time = 2h');
  assert.deepEqual(
    [reauthOnly?.rekeyTimeSec, reauthOnly?.reauthTimeSec, reauthOnly?.overTimeSec, reauthOnly?.randTimeSec],
    [0, 7200, 720, 720],
  );
  const both = t('reauth_time = 10h\n rekey_time = 1h');
  // over = 10% of the longer (3600 s); rand = min(over, shorter / 2) = 1800 s
  assert.deepEqual(
    [both?.rekeyTimeSec, both?.reauthTimeSec, both?.overTimeSec, both?.randTimeSec],
    [3600, 36000, 3600, 1800],
  );
  const explicit = t('rekey_time = 1h\n over_time = 5m\n rand_time = 1m');
  assert.deepEqual([explicit?.overTimeSec, explicit?.randTimeSec], [300, 60]);
  const child = parse(
    'connections { c { local { auth = psk } remote { auth = psk } children { x { rekey_time = 20m\n rekey_bytes = 1g\n life_bytes = 2g\n rekey_packets = 1000000\n rand_packets = 5 } } } }',
  ).config.connections[0]?.children[0];
  assert.deepEqual([child?.rekeyTimeSec, child?.lifeTimeSec, child?.randTimeSec], [1200, 1320, 120]);
  assert.deepEqual([child?.rekeyBytes, child?.lifeBytes, child?.randBytes], [1024 ** 3, 2 * 1024 ** 3, 1024 ** 3]);
  assert.deepEqual([child?.rekeyPackets, child?.lifePackets, child?.randPackets], [1000000, 1100000, 5]);
});

test('esp_proposals default is dropped when only ah_proposals is given', () => {
  const ch = parse(
    'connections { c { local { auth = psk } remote { auth = psk } children { x { ah_proposals = sha256, sha384-modp3072 } } } }',
  ).config.connections[0]?.children[0];
  assert.deepEqual(
    ch?.ahProposals.map((p) => p.text),
    ['sha256', 'sha384-modp3072'],
  );
  assert.deepEqual(ch?.espProposals, []);
});

test('the proposal hook is not asked about the keyword default', () => {
  const seen: string[] = [];
  parse('connections { c {\n proposals = Default\n children { x {\n esp_proposals = default, aes128gcm16 } } } }', {
    validateProposal: (p, kind) => {
      seen.push(`${kind}:${p}`);
      return undefined;
    },
  });
  assert.deepEqual(seen, ['esp:aes128gcm16']);
});

test('the proposal hook sees every item and its errors carry file:line of the key', () => {
  const errors = errorsOf(
    'connections {\n  c {\n    proposals = aes128-sha256-modp3072, bogus\n    children { x {\n      esp_proposals = aes128gcm16, nope\n    } }\n  }\n}\n',
    { validateProposal: (p) => (p === 'bogus' || p === 'nope' ? `unknown algorithm '${p}'` : undefined) },
  );
  assert.deepEqual(errors, [
    "/etc/swanctl/swanctl.conf:3:17: proposals: 'bogus': unknown algorithm 'bogus' (see man swanctl.conf)",
    "/etc/swanctl/swanctl.conf:5:23: esp_proposals: 'nope': unknown algorithm 'nope' (see man swanctl.conf)",
  ]);
});

test('actions, modes, enums: aliases as strongSwan accepts them', () => {
  const ch = (keys: string) =>
    parse(`connections { c { local { auth = psk } remote { auth = psk } children { x { ${keys} } } } }`).config
      .connections[0]?.children[0];
  assert.equal(ch('start_action = trap|start')?.startAction, 'trap|start');
  assert.equal(ch('start_action = start|route')?.startAction, 'trap|start');
  assert.equal(ch('start_action = START')?.startAction, 'start');
  assert.equal(ch('dpd_action = restart')?.dpdAction, 'restart');
  assert.equal(ch('dpd_action = start')?.dpdAction, 'restart');
  assert.equal(ch('dpd_action = none')?.dpdAction, 'clear');
  assert.equal(ch('dpd_action = route')?.dpdAction, 'trap');
  assert.equal(ch('close_action = restart')?.closeAction, 'start');
  assert.equal(ch('close_action = clear')?.closeAction, 'none');
  assert.equal(ch('mode = Transport')?.mode, 'transport');
  assert.equal(ch('mode = pass')?.mode, 'pass');
  assert.equal(ch('mode = drop')?.mode, 'drop');
  assert.equal(ch('replay_window = 0')?.replayWindow, 0);
});

test('authentication rounds are ordered by round, then position; certs, pubkeys and cacerts are read', () => {
  const { config, warnings } = parse(
    [
      'connections { c {',
      '  local-b { auth = psk\n round = 1 }',
      '  local-a { auth = pubkey\n certs = a.pem, b.pem\n pubkeys = k.pub\n round = 0 }',
      '  remote { auth = psk\n id = peer@example.org\n cacerts = ca.pem }',
      '} }',
    ].join('\n'),
  );
  const c = config.connections[0];
  assert.deepEqual(
    c?.local.map((r) => [r.name, r.round, r.authClass]),
    [
      ['local-a', 0, 'pubkey'],
      ['local-b', 1, 'psk'],
    ],
  );
  assert.deepEqual(c?.local[0]?.certs, ['a.pem', 'b.pem']);
  assert.deepEqual(c?.local[0]?.pubkeys, ['k.pub']);
  assert.deepEqual(c?.remote[0]?.cacerts, ['ca.pem']);
  assert.equal(c?.remote[0]?.id, 'peer@example.org');
  assert.deepEqual(warnings.map(formatDiagnostic), []);
});

test('secrets: ike sections with ids, hex and base64; other types are ignored with a warning', () => {
  const { config, warnings } = parse(
    [
      'secrets {',
      '  ike-hex { secret = 0x0102ff\n id-a = left.lab\n id-b = 192.0.2.1 }',
      '  ike-b64 { secret = 0sAAEC }',
      '  eap-user { secret = pw\n id = user }',
      '  iek-typo { secret = x }',
      '  ike-empty { id = nobody }',
      '}',
    ].join('\n'),
  );
  assert.deepEqual(
    config.secrets.map((s) => [s.name, Buffer.from(s.secret).toString('hex'), s.ids]),
    [
      ['ike-hex', '0102ff', ['left.lab', '192.0.2.1']],
      ['ike-b64', '000102', []],
    ],
  );
  assert.equal(config.secretOrigins.length, 4);
  assert.deepEqual(warnings.map(formatDiagnostic), [
    "/etc/swanctl/swanctl.conf:6:3: secret section 'eap-user' is ignored (eap secrets are not used yet; only ike<suffix> secrets are)",
    "/etc/swanctl/swanctl.conf:8:3: secret section 'iek-typo' has an unknown type and is ignored (as strongSwan does) (did you mean 'ike'?)",
    '/etc/swanctl/swanctl.conf:9:3: secret section \'ike-empty\' has no secret and is ignored (as strongSwan does) (add secret = "...")',
  ]);
});

test('include with wildcards feeds connections and secrets from several files', () => {
  const files = {
    '/etc/swanctl/conf.d/10-a.conf': 'connections { a { local { auth = psk } remote { auth = psk } } }\n',
    '/etc/swanctl/conf.d/20-b.conf': 'connections { b { local { auth = psk } remote { auth = psk } } }\n',
    '/etc/swanctl/private/psk.secrets': 'secrets { ike-1 { secret = "k" } }\n',
  };
  const { config } = parse('include conf.d/*.conf\ninclude private/*.secrets\n', { readInclude: memoryFiles(files) });
  assert.deepEqual(
    config.connections.map((c) => c.name),
    ['a', 'b'],
  );
  assert.deepEqual(config.secretOrigins, [{ file: '/etc/swanctl/private/psk.secrets', line: 1, column: 19 }]);
  assert.deepEqual(config.files, [FILE, ...Object.keys(files)]);
});

const errorCases: [string, string, string[]][] = [
  [
    'misspelled connection key',
    'connections {\n  c {\n    remote_adrs = 192.0.2.2\n  }\n}',
    ["/etc/swanctl/swanctl.conf:3:5: unknown key 'remote_adrs' in connection 'c' (did you mean 'remote_addrs'?)"],
  ],
  [
    'misspelled child key',
    'connections { c { children { x {\n  esp_proposal = aes128gcm16\n} } } }',
    [
      "/etc/swanctl/swanctl.conf:2:3: unknown key 'esp_proposal' in child 'x' of connection 'c' (did you mean 'esp_proposals'?)",
    ],
  ],
  [
    'misspelled auth key',
    'connections { c { local {\n  ids = me\n} } }',
    ["/etc/swanctl/swanctl.conf:2:3: unknown key 'ids' in local round 'local' (did you mean 'id'?)"],
  ],
  [
    'unknown key without a near match',
    'connections { c {\n  frobnicate = 1 } }',
    [
      "/etc/swanctl/swanctl.conf:2:3: unknown key 'frobnicate' in connection 'c' (see man swanctl.conf for the keys allowed here)",
    ],
  ],
  [
    'misspelled section in a connection',
    'connections { c {\n  childs { } } }',
    ["/etc/swanctl/swanctl.conf:2:3: unknown section 'childs' in connection 'c' (did you mean 'children'?)"],
  ],
  [
    'misspelled top-level section',
    'conections { }',
    ["/etc/swanctl/swanctl.conf:1:1: unknown section 'conections' (did you mean 'connections'?)"],
  ],
  [
    'refused key',
    'connections { c {\n  ppk_id = ppk } }',
    [
      "/etc/swanctl/swanctl.conf:2:3: 'ppk_id' is not supported: postquantum preshared keys (RFC 8784) are not supported (remove the key)",
    ],
  ],
  [
    'default-only key with another value',
    'connections { c { children { x {\n  ipcomp = yes } } } }',
    [
      "/etc/swanctl/swanctl.conf:2:3: 'ipcomp = yes' is not supported: IPComp is not supported (remove the key or set it to its default)",
    ],
  ],
  [
    'IKEv1',
    'connections { c {\n  version = 1 } }',
    ['/etc/swanctl/swanctl.conf:2:13: IKEv1 is not supported (use version = 2)'],
  ],
  [
    'bad time, bytes, bool, enum, port',
    'connections { c {\n rekey_time = 1y\n encap = maybe\n local_port = 70000\n unique = sometimes\n children { x {\n life_bytes = 5q } } } }',
    [
      "/etc/swanctl/swanctl.conf:2:15: rekey_time: '1y' is not a time (write seconds, or a number with s, m, h or d, e.g. 4h or 90m)",
      "/etc/swanctl/swanctl.conf:3:10: encap: 'maybe' is not a boolean (write yes or no)",
      '/etc/swanctl/swanctl.conf:4:15: local_port: port 70000 is out of range (use 0 to 65535)',
      "/etc/swanctl/swanctl.conf:5:11: unique: 'sometimes' is not allowed here (use one of: no, never, keep, replace)",
      "/etc/swanctl/swanctl.conf:7:15: life_bytes: '5q' is not a byte count (write bytes, or a number with k, m or g, e.g. 500m)",
    ],
  ],
  [
    'bad addresses and selectors',
    'connections { c {\n remote_addrs = 192.0.2.0/40\n children { x {\n local_ts = 198.51.100.0/24[tcp/http\n remote_ts = dynamic, nonsense } } } }',
    [
      "/etc/swanctl/swanctl.conf:2:17: remote_addrs: bad prefix length in '192.0.2.0/40' (use /0 to /32)",
      "/etc/swanctl/swanctl.conf:4:13: local_ts: '198.51.100.0/24[tcp/http' has an unclosed or misplaced '[' (write subnet[protocol/port], e.g. 192.0.2.0/24[tcp/443])",
      "/etc/swanctl/swanctl.conf:5:14: remote_ts: 'nonsense' is not a traffic selector (use a subnet (198.51.100.0/24), an address, a range (a-b) or dynamic, optionally with [protocol/port])",
    ],
  ],
  [
    'unsupported auth and mode',
    'connections { c {\n remote { auth = eap-md5 }\n children { x {\n mode = beet } } } }',
    [
      '/etc/swanctl/swanctl.conf:2:18: auth = eap-md5: EAP authentication is not supported (use auth = psk)',
      '/etc/swanctl/swanctl.conf:4:9: mode: mode beet is not supported (use tunnel or transport)',
    ],
  ],
  [
    'bad secret encoding and unknown secret key',
    'secrets { ike-x {\n secret = 0xabc\n secert = x } }',
    [
      '/etc/swanctl/swanctl.conf:2:11: secret: the 0x secret is not valid hex (use an even number of hex digits after 0x)',
      "/etc/swanctl/swanctl.conf:3:2: unknown key 'secert' in secret 'ike-x' (did you mean 'secret'?)",
    ],
  ],
  [
    'refused authorization constraint',
    'connections { c { remote {\n groups = admins } } }',
    [
      "/etc/swanctl/swanctl.conf:2:2: 'groups' is not supported: group membership constraints are not supported (ignoring them would accept more peers) (remove the key)",
    ],
  ],
  [
    'bad start_action',
    'connections { c { children { x {\n start_action = trap|clear } } } }',
    [
      "/etc/swanctl/swanctl.conf:2:17: start_action: 'trap|clear' combines actions that cannot go together (only trap|start may be combined)",
    ],
  ],
];

for (const [name, text, expected] of errorCases) {
  test(`error: ${name}`, () => {
    assert.deepEqual(errorsOf(text), expected);
  });
}

test('errors in an included file carry that file and line', () => {
  const errors = errorsOf('connections {\n include conf.d/*.conf\n}\n', {
    readInclude: memoryFiles({ '/etc/swanctl/conf.d/x.conf': 'c {\n  local { auth = psk }\n  rekey_tiem = 1h\n}\n' }),
  });
  assert.deepEqual(errors, [
    "/etc/swanctl/conf.d/x.conf:3:3: unknown key 'rekey_tiem' in connection 'c' (did you mean 'rekey_time'?)",
  ]);
});

test('warned keys: ignored with a warning that names the key and the reason', () => {
  const { warnings } = parse(
    'connections { c {\n pull = yes\n aggressive = no\n local { auth = psk\n eap_id = x }\n remote { auth = psk }\n children { x {\n copy_df = no\n mark_in = 0/0\n hw_offload = auto } } } }',
  );
  assert.deepEqual(warnings.map(formatDiagnostic), [
    "/etc/swanctl/swanctl.conf:2:2: 'pull' in connection 'c' is ignored: Mode Config push/pull is IKEv1 only",
    "/etc/swanctl/swanctl.conf:3:2: 'aggressive' in connection 'c' is ignored: Aggressive Mode is IKEv1 only",
    "/etc/swanctl/swanctl.conf:5:2: 'eap_id' in local round 'local' is ignored: EAP is not supported; eap_id only applies to EAP rounds",
    "/etc/swanctl/swanctl.conf:8:2: 'copy_df' in child 'x' of connection 'c' is ignored: the data plane's outer DF bit handling is not configurable yet",
    "/etc/swanctl/swanctl.conf:9:2: 'mark_in' in child 'x' of connection 'c' is ignored: Netfilter marks do not apply to the user-space data plane",
    "/etc/swanctl/swanctl.conf:10:2: 'hw_offload' in child 'x' of connection 'c' is ignored: hardware offload does not apply to the user-space data plane",
  ]);
});

test('empty lists fall back to the defaults (%any, dynamic), as absent keys do', () => {
  const c = parse(
    'connections { c {\n local_addrs = ""\n remote_addrs = ,\n local { auth = psk } remote { auth = psk }\n children { x {\n local_ts = ""\n remote_ts = , } } } }',
  ).config.connections[0];
  assert.deepEqual(c?.localAddrs, [{ kind: 'any' }]);
  assert.deepEqual(c?.remoteAddrs, [{ kind: 'any' }]);
  assert.deepEqual(
    c?.children[0]?.localTs.map((t) => t.address.kind),
    ['dynamic'],
  );
  assert.deepEqual(
    c?.children[0]?.remoteTs.map((t) => t.address.kind),
    ['dynamic'],
  );
});

test('a child that initiates without a specific remote address gets a warning; shunts do not', () => {
  const text = (mode: string) =>
    `connections { c {\n remote_addrs = 192.0.2.0/24\n local { auth = psk } remote { auth = psk }\n children { x {\n mode = ${mode}\n start_action = trap } } } }`;
  assert.deepEqual(parse(text('tunnel')).warnings.map(formatDiagnostic), [
    "/etc/swanctl/swanctl.conf:2:2: connection 'c' has children that initiate (start, trap or restart actions) but no specific remote address (set remote_addrs to an address or DNS name; swanctl.conf(5) requires one to initiate)",
  ]);
  assert.deepEqual(parse(text('pass')).warnings, []);
});
