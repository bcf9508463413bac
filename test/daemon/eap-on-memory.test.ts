/**
 * EAP road warriors on memory I/O, from swanctl.conf to `sas`: a gateway with `remote.auth = eap-mschapv2` (or
 * eap-md5) and `secrets.eap*`, clients with `local.auth = eap-*` and `eap_id`. The EAP identities show in `sas`
 * and in the audit line; the pool lease goes to the EAP identity; a wrong password installs nothing and the gateway
 * logs who failed; `unique = replace` tells users apart by EAP identity, not by their shared IKE identity.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settle, TwoDaemons } from './memory-daemons.js';

const GW = { outer: '192.0.2.2', id: 'gw.example', lan: '203.0.113.0/24' };
const PSK = 'gateway-preshared-key-0123456789';

function gateway(method = 'eap-mschapv2', unique = 'no'): string {
  return `connections {
  rw {
    local_addrs = ${GW.outer}
    pools = rw4
    unique = ${unique}
    proposals = aes128gcm16-prfsha256-x25519
    local { auth = psk
      id = ${GW.id} }
    remote { auth = ${method}
      eap_id = %any }
    children { net { local_ts = ${GW.lan}
        esp_proposals = aes128gcm16 } }
  }
}
pools { rw4 { addrs = 198.51.100.128/25 } }
secrets {
  ike-gw { secret = "${PSK}" }
  eap-carol { id = carol
    secret = "carol's password" }
  xauth-dave { id = dave
    secret = 0x646176652d7077 }
}
`;
}

/** Client connections (name -> [eap_id, password]), all with the same IKE identity. */
function client(users: Readonly<Record<string, [string, string]>>, method = 'eap-mschapv2', extra = ''): string {
  const conns = Object.entries(users).map(
    ([name, [eapId]]) => `  ${name} {
    local_addrs = 192.0.2.1
    remote_addrs = ${GW.outer}
    vips = 0.0.0.0
    unique = never
    ${extra}
    proposals = aes128gcm16-prfsha256-x25519
    local { auth = ${method}
      id = laptop.example
      eap_id = ${eapId} }
    remote { auth = psk
      id = ${GW.id} }
    children { ${name}-net { remote_ts = ${GW.lan}
        esp_proposals = aes128gcm16 } }
  }`,
  );
  const secrets = Object.entries(users).map(
    ([name, [eapId, pw]]) => `  eap-${name} { id = ${eapId}\n    secret = "${pw}" }`,
  );
  return `connections {\n${conns.join('\n')}\n}\nsecrets {\n  ike-gw { secret = "${PSK}" }\n${secrets.join('\n')}\n}\n`;
}

test('EAP-MSCHAPv2 users: EAP identities in sas and the log, the lease under the EAP identity', async () => {
  const t = await TwoDaemons.start(client({ carol: ['carol', "carol's password"] }), gateway());
  const [c, gw] = [t.left, t.right];
  try {
    await c.daemon.up('carol', 10);
    await settle();
    const [cs] = (await c.daemon.sas()).ikeSas;
    const [gs] = (await gw.daemon.sas()).ikeSas;
    assert.equal(cs?.localEapId, 'carol');
    assert.equal(cs?.remoteEapId, null);
    assert.equal(gs?.remoteEapId, 'carol');
    assert.equal(gs?.localEapId, null);
    assert.equal(gs?.remoteId, 'laptop.example');
    assert.deepEqual(gs?.remoteVips, ['198.51.100.129']);
    assert.deepEqual(gw.daemon.pools().pools[0]?.leases, [
      { address: '198.51.100.129', identity: 'carol', status: 'online' },
    ]);
    assert.ok(
      gw.logs.some((l) => /IKE_SA rw\[\d+\] established .*the peer logged in with EAP as 'carol'/.test(l)),
      gw.logs.join('\n'),
    );
    assert.ok(c.logs.some((l) => /we logged in with EAP as 'carol'/.test(l)));
  } finally {
    await t.stop();
  }
});

test('a wrong EAP password: refused, the gateway logs the user and why, nothing installed on either side', async () => {
  const t = await TwoDaemons.start(client({ carol: ['carol', 'not her password'] }), gateway());
  const [c, gw] = [t.left, t.right];
  try {
    await assert.rejects(c.daemon.up('carol', 10), /AUTHENTICATION_FAILED|EAP/);
    await settle();
    assert.ok(
      gw.logs.some((l) =>
        /EAP authentication of 'laptop.example' at 192.0.2.1 failed: .*'carol' failed \(wrong password\)/.test(l),
      ),
      gw.logs.join('\n'),
    );
    assert.deepEqual((await gw.daemon.sas()).ikeSas, []);
    assert.deepEqual((await c.daemon.sas()).ikeSas, []);
    assert.equal(c.io.addresses.size, 0);
    assert.equal(c.io.routes.size + gw.io.routes.size, 0);
    assert.equal(gw.daemon.pools().pools[0]?.online, 0);
  } finally {
    await t.stop();
  }
});

test('EAP-MD5 with an xauth secret; unique = replace keeps two EAP users of one IKE identity apart', async () => {
  const t = await TwoDaemons.start(
    client({ carol: ['carol', "carol's password"], dave: ['dave', 'dave-pw'] }, 'eap-md5'),
    gateway('eap-md5', 'replace'),
  );
  const [c, gw] = [t.left, t.right];
  try {
    await c.daemon.up('carol', 10);
    await c.daemon.up('dave', 10);
    await settle();
    const up = (await gw.daemon.sas()).ikeSas.filter((s) => s.state === 'ESTABLISHED');
    assert.deepEqual(up.map((s) => s.remoteEapId).sort(), ['carol', 'dave'], 'both users stay up');
    assert.deepEqual(new Set(up.map((s) => s.remoteId)), new Set(['laptop.example']));
  } finally {
    await t.stop();
  }
});

test('the EAP identities stay with the IKE_SA across an IKE rekey', async () => {
  const t = await TwoDaemons.start(
    client({ carol: ['carol', "carol's password"] }, 'eap-mschapv2', 'rekey_time = 60s'),
    gateway(),
  );
  const [c, gw] = [t.left, t.right];
  try {
    await c.daemon.up('carol', 10);
    await settle();
    const [before] = (await gw.daemon.sas()).ikeSas;
    await t.advance(70_000);
    const [after] = (await gw.daemon.sas()).ikeSas;
    assert.ok(before !== undefined && after !== undefined);
    assert.notEqual(after.uniqueId, before.uniqueId, 'the IKE_SA was rekeyed');
    assert.equal(after.remoteEapId, 'carol');
    assert.equal((await c.daemon.sas()).ikeSas[0]?.localEapId, 'carol');
  } finally {
    await t.stop();
  }
});
