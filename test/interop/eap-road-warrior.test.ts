/**
 * EAP road warriors against strongSwan 5.9, in network namespaces. The gateway proves itself with its certificate
 * (made once by strongSwan's `pki`), users log in with EAP and get IPv4 and IPv6 virtual IPs and DNS servers from
 * the gateway's pools, then ping the gateway's inner addresses from them.
 *
 * - strongSwan clients of our gateway: carol with EAP-MSCHAPv2 (asked with EAP-Identity, `eap_id = %any`), dave
 *   with a wrong password (refused, logged with his identity, nothing installed), erin with EAP-MD5 and her IKE
 *   identity as EAP identity (a second connection on the gateway picked by her IKE identity);
 * - our client of a strongSwan gateway: carol with EAP-MSCHAPv2 (addresses on our TUN, DNS in
 *   /etc/netns/NAME/resolv.conf), dave with a wrong password (refused, nothing installed).
 *
 * The left host is the client, the right one the gateway (203.0.113.1 and 2001:db8:2::1 behind it).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Lab, netnsEtc } from '../helpers/lab.js';
import type { LabHost } from '../helpers/lab.js';
import { labSkip } from '../helpers/prerequisites.js';
import { makeLabPki } from '../helpers/pki-tools.js';
import type { LabPki } from '../helpers/pki-tools.js';
import { StrongSwan } from '../helpers/strongswan.js';
import { TsipsecPeer } from '../helpers/tsipsec.js';
import type { IkeSaInfo } from '../../src/control/schema.js';

const skip = labSkip('strongswan', 'pki');

const POOL4 = '198.51.100.128/25';
const POOL6 = '2001:db8:4::/64';
const DNS4 = '203.0.113.53';
const DNS6 = '2001:db8:2::53';
const VIP4 = '198.51.100.129';
const VIP6 = '2001:db8:4::1';
const CAROL_PW = 'carol-eap-password-123';
const DAVE_PW = 'dave-eap-password-456';
const ERIN_PW = 'erin-md5-password-789';
const GW_ID = 'right.lab';
const PROPOSALS = 'encap = yes\n    proposals = aes128gcm16-prfsha256-x25519';

/** The gateway's certificate and CA, shared by both scenarios (made on first use). */
let pki: LabPki | undefined;
function labPki(): LabPki {
  pki ??= makeLabPki(fs.mkdtempSync(path.join(os.tmpdir(), 'tsipsec-eap-pki-')), 'pki', 'p256');
  return pki;
}
after(() => {
  if (pki !== undefined) fs.rmSync(pki.dir, { recursive: true, force: true });
});

/** Copies credentials into the swanctl folders of `dir` (x509/, x509ca/, private/). */
function install(dir: string, files: { x509?: string; x509ca?: string; key?: string }): void {
  for (const [folder, file] of [
    ['x509', files.x509],
    ['x509ca', files.x509ca],
    ['private', files.key],
  ] as const) {
    if (file === undefined) continue;
    fs.mkdirSync(path.join(dir, folder), { recursive: true, mode: 0o700 });
    const to = path.join(dir, folder, path.basename(file));
    fs.copyFileSync(file, to);
    fs.chmodSync(to, 0o600);
  }
}

/** The gateway: `rw` checks EAP-MSCHAPv2 passwords (asking the EAP identity), `rw-md5` EAP-MD5 for erin@lab. */
function gatewayConf(gw: LabHost): string {
  const conn = (name: string, remote: string): string => `  ${name} {
    local_addrs = ${gw.outer4}
    pools = rw4, rw6
    ${PROPOSALS}
    local {
      auth = pubkey
      certs = right.pem
      id = ${GW_ID}
    }
    remote {
${remote}
    }
    children {
      net {
        local_ts = ${gw.inner4}/32, ${gw.inner6}/128
        esp_proposals = aes128gcm16
      }
    }
  }
`;
  return `connections {
${conn('rw-md5', '      auth = eap-md5\n      id = erin@lab')}${conn('rw', '      auth = eap-mschapv2\n      eap_id = %any')}}
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
secrets {
  eap-carol {
    id = carol
    secret = "${CAROL_PW}"
  }
  eap-dave {
    id = dave
    secret = "${DAVE_PW}"
  }
  eap-erin {
    id = erin@lab
    secret = "${ERIN_PW}"
  }
}
`;
}

interface User {
  readonly conn: string;
  readonly id: string;
  readonly auth: string;
  /** Absent: the IKE identity is the EAP identity. */
  readonly eapId?: string;
  readonly password: string;
}

const CAROL: User = { conn: 'carol', id: 'carol@lab', auth: 'eap-mschapv2', eapId: 'carol', password: CAROL_PW };
const DAVE_WRONG: User = { conn: 'dave', id: 'dave@lab', auth: 'eap-mschapv2', eapId: 'dave', password: 'guessed' };
const ERIN_MD5: User = { conn: 'erin', id: 'erin@lab', auth: 'eap-md5', password: ERIN_PW };

/** A client with one connection per user, each asking for an IPv4 and an IPv6 address. */
function clientConf(me: LabHost, gw: LabHost, users: readonly User[]): string {
  const conns = users.map(
    (u) => `  ${u.conn} {
    local_addrs = ${me.outer4}
    remote_addrs = ${gw.outer4}
    vips = 0.0.0.0, ::
    ${PROPOSALS}
    local {
      auth = ${u.auth}
      id = ${u.id}${u.eapId !== undefined ? `\n      eap_id = ${u.eapId}` : ''}
    }
    remote {
      auth = pubkey
      id = ${GW_ID}
    }
    children {
      ${u.conn}-net {
        remote_ts = ${gw.inner4}/32, ${gw.inner6}/128
        esp_proposals = aes128gcm16
      }
    }
  }
`,
  );
  const secrets = users.map(
    (u) => `  eap-${u.conn} {\n    id = ${u.eapId ?? u.id}\n    secret = "${u.password}"\n  }\n`,
  );
  return `connections {\n${conns.join('')}}\nsecrets {\n${secrets.join('')}}\n`;
}

async function ping(lab: Lab, from: LabHost, src: string | undefined, to: string): Promise<void> {
  const args = ['-c', '3', '-i', '0.2', '-W', '2', ...(src !== undefined ? ['-I', src] : []), to];
  const out = await lab.exec(from, 'ping', args);
  assert.match(out, /3 received/, out);
}

function logs(ours: TsipsecPeer | undefined, theirs: StrongSwan | undefined): string {
  return `\n--- tsipsec log ---\n${ours?.log().slice(-6000)}\n--- charon log ---\n${theirs?.log().slice(-6000)}`;
}

async function ourSas(ours: TsipsecPeer): Promise<IkeSaInfo[]> {
  return ((await ours.call('sas')) as { ikeSas: IkeSaInfo[] }).ikeSas;
}

test(
  'strongSwan clients of our EAP gateway: MSCHAPv2 with IPv4 and IPv6 virtual IPs and DNS, a wrong password, MD5',
  { skip, timeout: 120_000 },
  async () => {
    const lab = await Lab.create('eapg');
    let ours: TsipsecPeer | undefined;
    let theirs: StrongSwan | undefined;
    try {
      const { left: client, right: gw } = lab;
      const p = labPki();
      install(lab.dir, { x509: p.right.cert, key: p.right.key });
      ours = await TsipsecPeer.start(lab, gw, gatewayConf(gw));
      const swDir = path.join(lab.dir, 'strongswan');
      install(swDir, { x509ca: p.caCert });
      theirs = await StrongSwan.start(lab, client, clientConf(client, gw, [CAROL, DAVE_WRONG, ERIN_MD5]), {}, swDir);

      // carol: EAP-Identity, EAP-MSCHAPv2, both address families, DNS.
      assert.match(await theirs.swanctl('--initiate', '--child', 'carol-net'), /initiate completed successfully/);
      const charon = theirs.log();
      assert.match(
        charon,
        /authentication of 'right.lab' with ECDSA_WITH_SHA256_DER successful|authentication of 'right.lab' with .* successful/,
      );
      assert.match(charon, /EAP method EAP_MSCHAPV2 succeeded, MSK established/);
      assert.match(charon, /processing INTERNAL_IP4_DNS attribute/);
      assert.match(charon, /processing INTERNAL_IP6_DNS attribute/);
      let sas = await ourSas(ours);
      assert.equal(sas.length, 1);
      assert.equal(sas[0]?.remoteEapId, 'carol');
      assert.equal(sas[0]?.remoteId, 'carol@lab');
      assert.deepEqual(sas[0]?.remoteVips, [VIP4, VIP6]);
      assert.equal(sas[0]?.localCert?.subject.includes('right'), true, JSON.stringify(sas[0]?.localCert));
      await ping(lab, client, VIP4, gw.inner4);
      await ping(lab, client, VIP6, gw.inner6);

      // dave with a wrong password: refused; our log names him and the reason; no SA, no lease, no route.
      await assert.rejects(theirs.swanctl('--initiate', '--child', 'dave-net'), /initiate failed/);
      assert.match(
        ours.log(),
        /EAP authentication of 'dave@lab' at 192\.0\.2\.1 failed: EAP-MSCHAPv2 verification of 'dave' failed \(wrong password\)/,
      );
      assert.match(theirs.log(), /EAP-MS-CHAPv2 failed|EAP method EAP_MSCHAPV2 failed|received AUTHENTICATION_FAILED/);
      sas = await ourSas(ours);
      assert.deepEqual(
        sas.map((s) => [s.remoteEapId, s.children.length]),
        [['carol', 1]],
      );
      assert.doesNotMatch(await theirs.listSas(), /dave/);
      const pools = (await ours.call('pools')) as { pools: { leases: { identity: string }[] }[] };
      assert.deepEqual(
        pools.pools.map((x) => x.leases.map((l) => l.identity)),
        [['carol'], ['carol']],
      );

      // erin: EAP-MD5 (no MSK), her IKE identity as EAP identity, the rw-md5 connection.
      assert.match(await theirs.swanctl('--initiate', '--child', 'erin-net'), /initiate completed successfully/);
      assert.match(theirs.log(), /EAP method EAP_MD5 succeeded, no MSK established/);
      sas = await ourSas(ours);
      const erin = sas.find((s) => s.remoteEapId === 'erin@lab');
      assert.equal(erin?.name, 'rw-md5');
      assert.equal(erin?.remoteVips.length, 2);
      const erin4 = erin?.remoteVips[0];
      assert.ok(erin4 !== undefined && erin4 !== VIP4);
      await ping(lab, client, erin4, gw.inner4);
      assert.match(ours.log(), /the peer logged in with EAP as 'erin@lab'/);
    } catch (e) {
      throw new Error(`${(e as Error).message}${logs(ours, theirs)}`);
    } finally {
      await lab.destroy();
    }
  },
);

test(
  'our EAP-MSCHAPv2 client of a strongSwan gateway: virtual IPs on the TUN, DNS, pings; a wrong password',
  { skip, timeout: 120_000 },
  async () => {
    const lab = await Lab.create('eapc');
    let ours: TsipsecPeer | undefined;
    let theirs: StrongSwan | undefined;
    const { left: client, right: gw } = lab;
    const etc = netnsEtc(lab, client);
    try {
      const p = labPki();
      const swDir = path.join(lab.dir, 'strongswan');
      install(swDir, { x509: p.right.cert, key: p.right.key });
      theirs = await StrongSwan.start(lab, gw, gatewayConf(gw), {}, swDir);
      install(lab.dir, { x509ca: p.caCert });
      ours = await TsipsecPeer.start(lab, client, clientConf(client, gw, [CAROL, DAVE_WRONG]));

      await ours.call('up', { name: 'carol', timeoutSec: 30 });
      const [sa] = await ourSas(ours);
      assert.equal(sa?.localEapId, 'carol');
      assert.equal(sa?.remoteId, GW_ID);
      assert.deepEqual(sa?.localVips, [VIP4, VIP6]);
      assert.deepEqual(sa?.dns, [DNS4, DNS6]);
      assert.match(sa?.remoteCert?.subject ?? '', /right/);
      assert.match(theirs.log(), /EAP method EAP_MSCHAPV2 succeeded, MSK established/);
      assert.match(ours.log(), /we logged in with EAP as 'carol'/);
      const addrs = await lab.ip(client, 'addr', 'show');
      assert.ok(addrs.includes(`${VIP4}/32`) && addrs.includes(`${VIP6}/128`), addrs);
      const resolv = fs.readFileSync(path.join(etc, 'resolv.conf'), 'utf8');
      assert.match(resolv, new RegExp(`^nameserver ${DNS4}$`, 'm'));
      assert.match(resolv, new RegExp(`^nameserver ${DNS6}$`, 'm'));
      await ping(lab, client, undefined, gw.inner4);
      await ping(lab, client, undefined, gw.inner6);
      assert.match(await theirs.listSas(), /carol/);

      // dave with a wrong password: refused with the reason, nothing more installed on our side.
      const tunRoutes = async (): Promise<string[]> =>
        (await lab.ip(client, 'route', 'show', 'table', 'all'))
          .split('\n')
          .filter((l) => l.includes('tsi') && !l.includes('fe80') && !l.startsWith('multicast'));
      const routesBefore = await tunRoutes();
      await assert.rejects(ours.call('up', { name: 'dave', timeoutSec: 30 }), /AUTHENTICATION_FAILED|EAP/);
      assert.match(ours.log(), /EAP authentication failed|AUTHENTICATION_FAILED/);
      assert.match(
        theirs.log(),
        /EAP method EAP_MSCHAPV2 failed for peer dave|MS-CHAPv2 verification failed|EAP_MSCHAPV2 failed/,
      );
      const after = await ourSas(ours);
      assert.deepEqual(
        after.map((s) => [s.name, s.localEapId, s.localVips.length]),
        [['carol', 'carol', 2]],
      );
      const addrsAfter = await lab.ip(client, 'addr', 'show');
      assert.equal(addrsAfter.match(/198\.51\.100\.1[0-9][0-9]\/32/g)?.length, 1, addrsAfter);
      assert.deepEqual(await tunRoutes(), routesBefore, 'no route added');
      assert.doesNotMatch(await theirs.listSas(), /dave/);
      await ping(lab, client, undefined, gw.inner4);
    } catch (e) {
      throw new Error(`${(e as Error).message}${logs(ours, theirs)}`);
    } finally {
      await lab.destroy();
    }
  },
);
