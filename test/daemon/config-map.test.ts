import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadDaemonConfig } from '../../src/daemon/load-config.js';
import { parseIdentityText } from '../../src/daemon/identity-text.js';
import { ConfigError } from '../../src/config/config-error.js';
import { repoRoot } from '../helpers/vectors.js';
import { makeCa, makeCert } from '../helpers/pki.js';
import { toPem } from '../../src/pki/pem.js';

function withConf(text: string, fn: (file: string) => void): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsipsec-conf-'));
  const file = path.join(dir, 'swanctl.conf');
  fs.writeFileSync(file, text, { mode: 0o600 });
  try {
    fn(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('identity strings as strongSwan reads them', () => {
  assert.deepEqual(parseIdentityText('192.0.2.1'), { type: 'ipv4', value: '192.0.2.1' });
  assert.deepEqual(parseIdentityText('2001:db8::1'), { type: 'ipv6', value: '2001:db8::1' });
  assert.deepEqual(parseIdentityText('@moon.example'), { type: 'fqdn', value: 'moon.example' });
  assert.deepEqual(parseIdentityText('left.lab'), { type: 'fqdn', value: 'left.lab' });
  assert.deepEqual(parseIdentityText('carol@example.org'), { type: 'rfc822', value: 'carol@example.org' });
  assert.deepEqual(parseIdentityText('@#0a0b'), { type: 'keyId', value: Buffer.from([10, 11]) });
  assert.deepEqual(parseIdentityText('%any'), { type: 'any' });
  assert.throws(() => parseIdentityText('C=CH, O=Lab, CN=moon'), /distinguished name/);
});

test('the shared bench configuration maps to an engine connection', () => {
  const file = path.join(repoRoot, '..', 'shared', 'bench', 'swanctl-left.conf');
  const src = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
  const text =
    src ??
    `connections { lab { version = 2
 local_addrs = 192.0.2.1
 remote_addrs = 192.0.2.2
 encap = yes
 proposals = aes128gcm16-prfsha256-x25519
 local { auth = psk
  id = left.lab }
 remote { auth = psk
  id = right.lab }
 children { net { local_ts = 198.51.100.1/32
  remote_ts = 203.0.113.1/32
  esp_proposals = aes128gcm16 } } } }
secrets { ike-lab { secret = "lab-preshared-key-0123456789" } }
`;
  withConf(text, (f) => {
    const { config } = loadDaemonConfig(f);
    const [c] = config.connections;
    assert.ok(c);
    assert.equal(c.ike.name, 'lab');
    assert.deepEqual(c.ike.localId, { type: 'fqdn', value: 'left.lab' });
    assert.deepEqual(c.ike.remoteId, { type: 'fqdn', value: 'right.lab' });
    assert.equal(c.localAddr, '192.0.2.1');
    assert.equal(c.remoteAddr, '192.0.2.2');
    assert.equal(c.ike.forceEncap, true);
    assert.deepEqual(c.ike.proposals, ['aes128gcm16-prfsha256-x25519']);
    const [child] = c.ike.children;
    assert.equal(child?.name, 'net');
    assert.deepEqual(child?.localTs, ['198.51.100.1/32']);
    assert.deepEqual(child?.proposals, ['aes128gcm16']);
    const psk = config.psk(c.ike.localId, c.ike.remoteId);
    assert.equal(Buffer.from(psk ?? []).toString(), 'lab-preshared-key-0123456789');
  });
});

test('PSK lookup prefers the secret naming both peers, then the remote, then a wildcard', () => {
  withConf(
    `connections { c { local_addrs = 192.0.2.1
  local { auth = psk
   id = me.example }
  remote { auth = psk
   id = peer.example } } }
secrets {
  ike-any { secret = wildcard }
  ike-remote { id = peer.example
    secret = remote-only }
  ike-both { id-1 = me.example
    id-2 = peer.example
    secret = both }
  ike-other { id = other.example
    secret = other }
}
`,
    (f) => {
      const { config } = loadDaemonConfig(f);
      const psk = (l: string, r: string) =>
        Buffer.from(config.psk(parseIdentityText(l), parseIdentityText(r)) ?? []).toString();
      assert.equal(psk('me.example', 'peer.example'), 'both');
      assert.equal(psk('x.example', 'peer.example'), 'remote-only');
      assert.equal(psk('x.example', 'y.example'), 'wildcard');
    },
  );
});

test('unsupported settings are refused with file:line and a fix', () => {
  withConf(
    `connections {
  c {
    local_addrs = 192.0.2.1
    local {
      auth = xauth
      id = me.example
    }
    remote {
      auth = psk
    }
    proposals = aes128-sha256-x25519
  }
}
`,
    (f) => {
      assert.throws(
        () => loadDaemonConfig(f),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError);
          assert.match(
            e.message,
            /swanctl\.conf:5:\d+: auth = xauth: XAuth is IKEv1 only and not supported \(use auth = psk\)/,
          );
          return true;
        },
      );
    },
  );
  withConf(`connections { c { local_addrs = 192.0.2.1\n local { auth = pubkey }\n remote { auth = psk } } }\n`, (f) => {
    assert.throws(
      () => loadDaemonConfig(f),
      /swanctl\.conf:2:\d+: 'c\.local' uses auth = pubkey but names no certificate \(set certs = FILE/,
    );
  });
  withConf(`connections { c { local_addrs = 192.0.2.1\n proposals = aes128-sha256-bogus99 } }\n`, (f) => {
    assert.throws(() => loadDaemonConfig(f), /swanctl\.conf:2:\d+: .*bogus99/);
  });
});

test('local_addrs and remote_addrs reach the engine connection, where the responder checks them', () => {
  withConf(
    `connections { c { local_addrs = 192.0.2.1
 remote_addrs = 198.51.100.0/24, 203.0.113.5
 local { auth = psk
  id = left.lab }
 remote { auth = psk } } }
secrets { ike-c { secret = "0123456789abcdef" } }
`,
    (f) => {
      const [c] = loadDaemonConfig(f).config.connections;
      assert.deepEqual(
        c?.ike.localAddrs.map((a) => a.kind),
        ['address'],
      );
      assert.deepEqual(
        c?.ike.remoteAddrs.map((a) => (a.kind === 'subnet' ? `${a.address}/${a.prefix}` : a.kind)),
        ['198.51.100.0/24', 'address'],
      );
    },
  );
});

/** Errors of loading `text` as a daemon config, one string each (file name cut off). */
function configErrors(text: string): string[] {
  let out: string[] = [];
  withConf(text, (f) => {
    try {
      loadDaemonConfig(f);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      out = e.diagnostics.map((d) => `${d.origin.line}: ${d.message}${d.hint === undefined ? '' : ` (${d.hint})`}`);
    }
  });
  return out;
}

const EAP_GATEWAY = `connections { rw { local_addrs = 192.0.2.1
 local { auth = psk
  id = gw.lab }
 remote { auth = eap-mschapv2
  eap_id = %any } } }
secrets { ike-gw { secret = "0123456789abcdef" }
 eap-carol { id = carol
  secret = carol-pw }
 xauth-team { id1 = dave
  id2 = eve
  secret = 0x7465616d2d7077 }
 eap-fallback { secret = anyone-pw } }
`;

test('EAP gateway: methods by name, eap_id = %any asks EAP-Identity, eap and xauth secrets by id', () => {
  withConf(EAP_GATEWAY, (f) => {
    const { config } = loadDaemonConfig(f);
    assert.deepEqual(config.connections[0]?.ike.eapServer, { methods: [26], askIdentity: true });
    assert.equal(config.connections[0]?.ike.eapClient, undefined);
    assert.equal(config.eapPassword('carol'), 'carol-pw');
    assert.equal(config.eapPassword('eve'), 'team-pw');
    assert.equal(config.eapPassword('mallory'), 'anyone-pw', 'a secret without ids applies to anyone');
  });
  withConf(EAP_GATEWAY.replace('auth = eap-mschapv2\n  eap_id = %any', 'auth = eap\n  eap_id = carol'), (f) => {
    const ike = loadDaemonConfig(f).config.connections[0]?.ike;
    assert.deepEqual(ike?.eapServer, { methods: [26, 4], askIdentity: true, identity: 'carol' });
  });
  withConf(EAP_GATEWAY.replace('auth = eap-mschapv2\n  eap_id = %any', 'auth = eap-md5'), (f) => {
    const ike = loadDaemonConfig(f).config.connections[0]?.ike;
    assert.deepEqual(ike?.eapServer, { methods: [4], askIdentity: false }, 'no eap_id: the IKE identity is used');
  });
});

test('EAP client: eap_id (default the IKE identity) with its secret; the methods accepted', () => {
  const client = (auth: string, eapId: string, secrets: string): string =>
    `connections { rw { local_addrs = 192.0.2.2
 remote_addrs = 192.0.2.1
 local { auth = ${auth}
  id = carol@lab${eapId} }
 remote { auth = psk
  id = gw.lab } } }
secrets { ike-gw { secret = "0123456789abcdef" }
${secrets} }
`;
  withConf(client('eap-mschapv2', '\n  eap_id = carol', 'eap-c { id = carol\n secret = pw }'), (f) => {
    const ike = loadDaemonConfig(f).config.connections[0]?.ike;
    assert.deepEqual(ike?.eapClient, { identity: 'carol', methods: [26] });
  });
  withConf(client('eap', '', 'eap-c { id = carol@lab\n secret = pw }'), (f) => {
    const ike = loadDaemonConfig(f).config.connections[0]?.ike;
    assert.deepEqual(ike?.eapClient, { identity: 'carol@lab', methods: [26, 4] });
  });
  assert.deepEqual(configErrors(client('eap-mschapv2', '\n  eap_id = carol', 'eap-d { id = dave\n secret = pw }')), [
    `5: no EAP secret for 'carol', the EAP identity of 'rw.local' (add secrets { eap-NAME { id = carol, secret = "..." } })`,
  ]);
  assert.deepEqual(configErrors(client('eap-sim', '', '')), [
    "3: auth = eap-sim in 'rw.local': unknown EAP method (use one of eap-mschapv2, eap-md5, eap-tls or eap)",
  ]);
  // EAP-TLS needs our certificate: without one, the config says so.
  assert.deepEqual(configErrors(client('eap-tls', '', '')), [
    "3: 'rw.local' uses auth = eap-tls but names no certificate (set certs = FILE (in x509/) or pubkeys = FILE (in pubkey/))",
  ]);
  assert.deepEqual(configErrors(client('eap-tls:ecdsa-384', '', '')), [
    "3: auth = eap-tls:ecdsa-384 in 'rw.local': trust chain constraints after ':' are not supported (write auth = eap-tls)",
  ]);
  assert.deepEqual(configErrors(client('eap-md5', '\n  eap_id = %any', 'eap-c { secret = pw }')), [
    "5: eap_id = %any in 'rw.local' (our own EAP identity must be a name)",
  ]);
});

test('EAP refusals: EAP on both sides, a gateway without any EAP secret or without the eap_id user', () => {
  const gw = (remote: string, local = 'psk', secrets = ''): string =>
    `connections { rw { local_addrs = 192.0.2.1
 local { auth = ${local}
  id = gw.lab }
 remote { ${remote} } } }
secrets { ike-gw { secret = "0123456789abcdef" }
${secrets} }
`;
  assert.deepEqual(configErrors(gw('auth = eap-mschapv2')), [
    '4: \'rw.remote\' checks EAP passwords, but there is no secrets.eap* section (add secrets { eap-NAME { id = USER, secret = "..." } } for each user)',
  ]);
  assert.deepEqual(
    configErrors(gw('auth = eap-mschapv2\n eap_id = dave', 'psk', 'eap-c { id = carol\n secret = pw }')),
    [`5: no EAP secret for 'dave', the eap_id of 'rw.remote' (add secrets { eap-NAME { id = dave, secret = "..." } })`],
  );
  const both = configErrors(gw('auth = eap-md5', 'eap-md5\n eap_id = gw', 'eap-c { secret = pw }'));
  assert.equal(both.length, 1);
  assert.match(both[0] ?? '', /^5: 'rw' uses EAP on both sides/);
});

test('auth = eap-tls: the gateway uses the certificate that carries its id, and says so when there is none', () => {
  const conf = `connections {
  rw {
    local_addrs = 192.0.2.1
    local {
      auth = psk
      id = gw.example.org
    }
    remote {
      auth = eap-tls
      id = carol@example.org
    }
    proposals = aes128gcm16-prfsha256-x25519
  }
}
secrets { ike-gw { secret = "a secret for the test only" } }
`;
  withConf(conf, (f) => {
    assert.throws(
      () => loadDaemonConfig(f),
      /'rw.remote' uses auth = eap-tls, but no certificate in x509\/ with a private key carries our id 'gw.example.org'/,
    );
  });
  withConf(conf, (f) => {
    const dir = path.dirname(f);
    const ca = makeCa('C=CH, O=ts-ipsec test, CN=Map CA');
    const gw = makeCert(ca, 'C=CH, O=ts-ipsec test, CN=gw', 'p256', ['gw.example.org']);
    for (const d of ['x509', 'x509ca', 'private']) fs.mkdirSync(path.join(dir, d));
    fs.writeFileSync(path.join(dir, 'x509', 'gw.pem'), toPem('CERTIFICATE', gw.cert.der));
    fs.writeFileSync(path.join(dir, 'x509ca', 'ca.pem'), toPem('CERTIFICATE', ca.cert.der));
    fs.writeFileSync(path.join(dir, 'private', 'gw.key'), gw.key.export({ type: 'pkcs8', format: 'pem' }), {
      mode: 0o600,
    });
    const conn = loadDaemonConfig(f).config.connections.find((c) => c.ike.name === 'rw')?.ike;
    assert.deepEqual(conn?.eapServer?.methods, [13]);
    assert.equal(conn?.eapServer?.askIdentity, false);
    assert.ok(conn?.eapServer?.tls?.credentials.certs[0]?.der.equals(gw.cert.der));
    assert.deepEqual(
      conn?.eapServer?.tls?.credentials.cas.map((c) => c.subjectText),
      ['C=CH, O=ts-ipsec test, CN=Map CA'],
    );
    assert.equal(conn?.eapClient, undefined);
  });
});
