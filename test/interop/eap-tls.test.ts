/**
 * EAP-TLS (RFC 5216) against strongSwan 5.9's eap-tls plugin in network namespaces: a strongSwan client
 * (`local { auth = eap-tls }`, its certificate) dials our gateway (`remote { auth = eap-tls }`, which authenticates
 * itself with its PSK in IKE and with its certificate inside TLS); both AUTHs are keyed with the TLS MSK and a ping
 * crosses the tunnel. A client certificate from a CA the gateway does not trust is refused with our reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Lab, netnsEtc } from '../helpers/lab.js';
import type { LabHost } from '../helpers/lab.js';
import { labSkip } from '../helpers/prerequisites.js';
import { StrongSwan } from '../helpers/strongswan.js';
import { TsipsecPeer } from '../helpers/tsipsec.js';
import { makeCa, makeCert } from '../helpers/pki.js';
import type { TestCa } from '../helpers/pki.js';
import { toPem } from '../../src/pki/pem.js';
import type { IkeSaInfo } from '../../src/control/schema.js';

const skip = labSkip('strongswan');

const DAY_MS = 86_400_000;
const NOW_MS = Date.now();
const VALID = { notBeforeMs: NOW_MS - DAY_MS, notAfterMs: NOW_MS + 30 * DAY_MS };
const PSK = 'eap-tls-gateway-psk-0123456789';
const CHARON_LOAD =
  'random nonce openssl aesni sha1 sha2 hmac gcm chapoly curve25519 gmp mgf1 x509 pem pkcs1 pkcs8 pubkey revocation constraints kdf attr socket-default kernel-libipsec kernel-netlink vici eap-identity eap-tls';

const ca = makeCa('C=CH, O=ts-ipsec interop, CN=EAP-TLS Root CA', 'p256', undefined, VALID);
const rogueCa = makeCa('C=CH, O=elsewhere, CN=Rogue CA', 'p256', undefined, VALID);
const gwCert = makeCert(ca, 'C=CH, O=ts-ipsec interop, CN=gw.example.org', 'p256', ['gw.example.org'], VALID);
const carolCert = makeCert(ca, 'C=CH, O=ts-ipsec interop, CN=carol', 'rsa', ['carol@example.org'], VALID);
const rogueCarol = makeCert(rogueCa, 'C=CH, O=elsewhere, CN=carol', 'p256', ['carol@example.org'], VALID);

function install(dir: string, me: TestCa, name: string, anchor: TestCa): void {
  for (const d of ['x509', 'x509ca', 'private']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  fs.writeFileSync(path.join(dir, 'x509', `${name}.pem`), toPem('CERTIFICATE', me.cert.der));
  fs.writeFileSync(path.join(dir, 'x509ca', 'ca.pem'), toPem('CERTIFICATE', anchor.cert.der));
  const key = me.key.export({ type: 'pkcs8', format: 'pem' });
  fs.writeFileSync(path.join(dir, 'private', `${name}.key`), key, { mode: 0o600 });
}

function children(me: LabHost, peer: LabHost): string {
  return `    children {\n      net {\n        local_ts = ${me.inner4}/32\n        remote_ts = ${peer.inner4}/32\n        esp_proposals = aes128gcm16\n      }\n    }\n`;
}

/** The gateway (PSK in IKE, EAP-TLS for carol); one swanctl.conf for either implementation. */
function gatewayConf(gw: LabHost, client: LabHost): string {
  return `connections {
  rw {
    version = 2
    encap = yes
    local_addrs = ${gw.outer4}
    remote_addrs = ${client.outer4}
    proposals = aes128gcm16-prfsha256-x25519
    local {
      auth = psk
      id = gw.example.org
    }
    remote {
      auth = eap-tls
      id = carol@example.org
    }
${children(gw, client)}  }
}
secrets {
  ike-gw {
    id = gw.example.org
    secret = "${PSK}"
  }
}
`;
}

/** carol, the EAP-TLS client with her certificate; one swanctl.conf for either implementation. */
function clientConf(me: LabHost, gw: LabHost): string {
  return `connections {
  home {
    version = 2
    encap = yes
    local_addrs = ${me.outer4}
    remote_addrs = ${gw.outer4}
    proposals = aes128gcm16-prfsha256-x25519
    local {
      auth = eap-tls
      certs = carol.pem
      id = carol@example.org
    }
    remote {
      auth = psk
      id = gw.example.org
    }
${children(me, gw)}  }
}
secrets {
  ike-gw {
    id = gw.example.org
    secret = "${PSK}"
  }
}
`;
}

async function setUp(name: string, client: TestCa): Promise<{ lab: Lab; ours: TsipsecPeer; theirs: StrongSwan }> {
  const lab = await Lab.create(name);
  try {
    install(lab.dir, gwCert, 'gw', ca);
    const ssDir = path.join(lab.dir, 'strongswan-client');
    install(ssDir, client, 'carol', ca);
    const ours = await TsipsecPeer.start(lab, lab.left, gatewayConf(lab.left, lab.right));
    const theirs = await StrongSwan.start(
      lab,
      lab.right,
      clientConf(lab.right, lab.left),
      { load: CHARON_LOAD },
      ssDir,
    );
    return { lab, ours, theirs };
  } catch (e) {
    await lab.destroy();
    throw e;
  }
}

test(
  'strongSwan EAP-TLS client against our gateway: MSK-keyed AUTH both ways, ping through',
  { skip, timeout: 90_000 },
  async () => {
    const { lab, ours, theirs } = await setUp('eaptls', carolCert);
    try {
      const out = await theirs.swanctl('--initiate', '--child', 'net');
      assert.match(out, /initiate completed successfully/, out);
      const { left, right } = lab;
      const ping = await lab.exec(right, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '-I', right.inner4, left.inner4]);
      assert.match(ping, /3 received/, ping);
      const log = ours.log();
      assert.match(log, /EAP method EAP-TLS succeeded for 'carol@example.org', MSK established/, log);
      assert.match(theirs.log(), /EAP method EAP_TLS succeeded, MSK established/);
      assert.match(theirs.log(), /authentication of 'gw.example.org' with pre-shared key successful/);
    } finally {
      await lab.destroy();
    }
  },
);

test(
  'our gateway refuses a strongSwan EAP-TLS client whose certificate comes from an untrusted CA',
  { skip, timeout: 90_000 },
  async () => {
    const { lab, ours, theirs } = await setUp('eaptlsbad', rogueCarol);
    try {
      await assert.rejects(theirs.swanctl('--initiate', '--child', 'net'));
      assert.match(
        ours.log(),
        /EAP-TLS peer 'carol@example.org' refused: certificate not trusted: no trusted CA issued 'C=CH, O=elsewhere, CN=carol'/,
      );
      assert.doesNotMatch(await theirs.listSas(), /INSTALLED/);
    } finally {
      await lab.destroy();
    }
  },
);

test(
  'our EAP-TLS client against a strongSwan gateway: MSK-keyed AUTH both ways, ping through',
  { skip, timeout: 90_000 },
  async () => {
    const lab = await Lab.create('eaptlsc');
    try {
      install(lab.dir, carolCert, 'carol', ca);
      const ssDir = path.join(lab.dir, 'strongswan-gateway');
      install(ssDir, gwCert, 'gw', ca);
      const theirs = await StrongSwan.start(
        lab,
        lab.right,
        gatewayConf(lab.right, lab.left),
        { load: CHARON_LOAD },
        ssDir,
      );
      const ours = await TsipsecPeer.start(lab, lab.left, clientConf(lab.left, lab.right));
      await ours.call('up', { name: 'net', timeoutSec: 30 });
      const { left, right } = lab;
      const ping = await lab.exec(left, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '-I', left.inner4, right.inner4]);
      assert.match(ping, /3 received/, ping);
      assert.match(ours.log(), /EAP method EAP-TLS succeeded, MSK established/);
      assert.match(theirs.log(), /EAP method EAP_TLS succeeded, MSK established/);
    } finally {
      await lab.destroy();
    }
  },
);

// ---- road warriors: the gateway proves itself with its certificate, the client gets IPv4 and IPv6 virtual IPs
// and DNS servers from its pools. One swanctl.conf serves either implementation on either side.

const POOL4 = '198.51.100.128/25';
const POOL6 = '2001:db8:5::/64';
const DNS4 = '203.0.113.53';
const DNS6 = '2001:db8:2::53';
const VIP4 = '198.51.100.129';
const VIP6 = '2001:db8:5::1';

/** The gateway (right): certificate in IKE, EAP-TLS for its users, pools with DNS servers. */
function rwGatewayConf(gw: LabHost): string {
  return `connections {
  rw {
    version = 2
    encap = yes
    local_addrs = ${gw.outer4}
    pools = rw4, rw6
    proposals = aes128gcm16-prfsha256-x25519
    local {
      auth = pubkey
      certs = gw.pem
      id = gw.example.org
    }
    remote {
      auth = eap-tls
      id = carol@example.org
    }
    children {
      net {
        local_ts = ${gw.inner4}/32, ${gw.inner6}/128
        esp_proposals = aes128gcm16
      }
    }
  }
}
pools {
  rw4 {
    addrs = ${POOL4}
    dns = ${DNS4}
  }
  rw6 {
    addrs = ${POOL6}
    dns = ${DNS6}
  }
}
`;
}

/** The client (left): its certificate in EAP-TLS, the gateway's checked against the CA, both address families. */
function rwClientConf(me: LabHost, gw: LabHost): string {
  return `connections {
  home {
    version = 2
    encap = yes
    local_addrs = ${me.outer4}
    remote_addrs = ${gw.outer4}
    vips = 0.0.0.0, ::
    proposals = aes128gcm16-prfsha256-x25519
    local {
      auth = eap-tls
      certs = carol.pem
      id = carol@example.org
    }
    remote {
      auth = pubkey
      id = gw.example.org
    }
    children {
      net {
        remote_ts = ${gw.inner4}/32, ${gw.inner6}/128
        esp_proposals = aes128gcm16
      }
    }
  }
}
`;
}

async function pingFrom(lab: Lab, from: LabHost, src: string | undefined, to: string): Promise<void> {
  const out = await lab.exec(from, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', ...(src ? ['-I', src] : []), to]);
  assert.match(out, /3 received/, out);
}

test(
  'strongSwan EAP-TLS road warrior of our certificate gateway: IPv4 and IPv6 virtual IPs and DNS, pings',
  { skip, timeout: 120_000 },
  async () => {
    const lab = await Lab.create('eaptlsrw');
    let ours: TsipsecPeer | undefined;
    let theirs: StrongSwan | undefined;
    try {
      const { left: client, right: gw } = lab;
      install(lab.dir, gwCert, 'gw', ca);
      ours = await TsipsecPeer.start(lab, gw, rwGatewayConf(gw));
      const ssDir = path.join(lab.dir, 'strongswan-client');
      install(ssDir, carolCert, 'carol', ca);
      theirs = await StrongSwan.start(lab, client, rwClientConf(client, gw), { load: CHARON_LOAD }, ssDir);
      assert.match(await theirs.swanctl('--initiate', '--child', 'net'), /initiate completed successfully/);
      const charon = theirs.log();
      assert.match(charon, /authentication of 'gw.example.org' with .* successful/);
      assert.match(charon, /EAP method EAP_TLS succeeded, MSK established/);
      assert.match(charon, /processing INTERNAL_IP4_DNS attribute/);
      assert.match(charon, /processing INTERNAL_IP6_DNS attribute/);
      const sas = ((await ours.call('sas')) as { ikeSas: IkeSaInfo[] }).ikeSas;
      assert.equal(sas.length, 1);
      assert.equal(sas[0]?.remoteEapId, 'carol@example.org');
      assert.deepEqual(sas[0]?.remoteVips, [VIP4, VIP6]);
      assert.match(sas[0]?.localCert?.subject ?? '', /gw\.example\.org/);
      await pingFrom(lab, client, VIP4, gw.inner4);
      await pingFrom(lab, client, VIP6, gw.inner6);
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n--- tsipsec ---\n${ours?.log().slice(-5000)}\n--- charon ---\n${theirs?.log().slice(-5000)}`,
      );
    } finally {
      await lab.destroy();
    }
  },
);

test(
  'our EAP-TLS road warrior of a strongSwan certificate gateway: virtual IPs on the TUN, DNS, pings',
  { skip, timeout: 120_000 },
  async () => {
    const lab = await Lab.create('eaptlsrc');
    let ours: TsipsecPeer | undefined;
    let theirs: StrongSwan | undefined;
    const { left: client, right: gw } = lab;
    const etc = netnsEtc(lab, client);
    try {
      const ssDir = path.join(lab.dir, 'strongswan-gateway');
      install(ssDir, gwCert, 'gw', ca);
      theirs = await StrongSwan.start(lab, gw, rwGatewayConf(gw), { load: CHARON_LOAD }, ssDir);
      install(lab.dir, carolCert, 'carol', ca);
      ours = await TsipsecPeer.start(lab, client, rwClientConf(client, gw));
      await ours.call('up', { name: 'home', timeoutSec: 30 });
      const [sa] = ((await ours.call('sas')) as { ikeSas: IkeSaInfo[] }).ikeSas;
      assert.equal(sa?.localEapId, 'carol@example.org');
      assert.deepEqual(sa?.localVips, [VIP4, VIP6]);
      assert.deepEqual(sa?.dns, [DNS4, DNS6]);
      assert.match(sa?.remoteCert?.subject ?? '', /gw\.example\.org/);
      assert.match(theirs.log(), /EAP method EAP_TLS succeeded, MSK established/);
      const resolv = fs.readFileSync(path.join(etc, 'resolv.conf'), 'utf8');
      assert.match(resolv, new RegExp(`^nameserver ${DNS4}$`, 'm'));
      assert.match(resolv, new RegExp(`^nameserver ${DNS6}$`, 'm'));
      await pingFrom(lab, client, undefined, gw.inner4);
      await pingFrom(lab, client, undefined, gw.inner6);
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n--- tsipsec ---\n${ours?.log().slice(-5000)}\n--- charon ---\n${theirs?.log().slice(-5000)}`,
      );
    } finally {
      await lab.destroy();
    }
  },
);
