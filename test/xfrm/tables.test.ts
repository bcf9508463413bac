/**
 * XfrmTables: manual SAs and policies applied through the kernel boundary. Bookkeeping against a recording
 * kernel (duplicates, get, list filters, del, flush), then two user-space data planes configured with
 * `ip xfrm` lines only, the same SA lines on both hosts as on Linux, passing an ICMP echo both ways: ESP tunnel
 * (AES-GCM), ESP transport in UDP with ESN (AES-CBC + HMAC-SHA256), and AH tunnel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type {
  AddPolicyArgs,
  AddSaArgs,
  AllocSpiArgs,
  KernelIpsec,
  KernelListener,
  SaId,
  SaUsage,
  UpdateSaArgs,
} from '../../src/kernel/kernel-ipsec.js';
import { MemoryNetwork } from '../../src/io/memory-network.js';
import { XfrmTables, parseXfrmLine, parseXfrmText } from '../../src/xfrm/index.js';
import type { XfrmCommand } from '../../src/xfrm/index.js';
import { makePeer, nextWrites } from '../dataplane/two-peers.js';
import type { Peer } from '../dataplane/two-peers.js';
import { ICMP_ECHO_REQUEST, echoReplyV4, icmpEcho, icmpOk, ipv4, ipv4HeaderOk } from '../spd/packets.js';
import { KEY20, KEY32, xfrmError } from './helpers.js';

class RecordingKernel implements KernelIpsec {
  readonly calls: string[] = [];
  readonly sas: AddSaArgs[] = [];
  readonly policies: AddPolicyArgs[] = [];
  private nextPolicy = 100;
  allocSpi(_args: AllocSpiArgs): Promise<number> {
    return Promise.resolve(0x1000);
  }
  addSa(args: AddSaArgs): Promise<void> {
    this.calls.push(`addSa ${args.spi.toString(16)}`);
    this.sas.push(args);
    return Promise.resolve();
  }
  updateSa(_args: UpdateSaArgs): Promise<void> {
    return Promise.resolve();
  }
  delSa(id: SaId): Promise<void> {
    this.calls.push(`delSa ${id.protocol} ${id.spi.toString(16)} ${id.dst}`);
    return Promise.resolve();
  }
  querySa(_id: SaId): Promise<SaUsage> {
    return Promise.reject(new Error('not used'));
  }
  addPolicy(args: AddPolicyArgs): Promise<number> {
    this.policies.push(args);
    this.calls.push(`addPolicy ${args.direction} ${args.action}`);
    return Promise.resolve(this.nextPolicy++);
  }
  delPolicy(policyId: number): Promise<void> {
    this.calls.push(`delPolicy ${policyId}`);
    return Promise.resolve();
  }
  async addPolicies(args: readonly AddPolicyArgs[]): Promise<number[]> {
    const ids: number[] = [];
    for (const a of args) ids.push(await this.addPolicy(a));
    return ids;
  }
  async delPolicies(ids: readonly number[]): Promise<void> {
    for (const id of ids) await this.delPolicy(id);
  }
  setListener(_listener: KernelListener): void {}
}

const run = (t: XfrmTables, line: string) => t.execute(parseXfrmLine(line));

test('XfrmTables: add, get, list with filters, del, flush, duplicates refused', async () => {
  const k = new RecordingKernel();
  const t = new XfrmTables(k, { isLocalAddress: (a) => a === '192.0.2.1' });
  const gcm = `aead 'rfc4106(gcm(aes))' ${KEY20} 128`;
  await run(t, `state add src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x1000 reqid 1 mode tunnel ${gcm}`);
  await run(t, `state add src 198.51.100.2 dst 192.0.2.1 proto esp spi 0x2000 reqid 1 mode tunnel ${gcm}`);
  await run(
    t,
    `state add src 198.51.100.2 dst 192.0.2.1 proto ah spi 0x3000 reqid 2 auth-trunc 'hmac(sha256)' ${KEY32} 128`,
  );
  assert.deepEqual(
    k.sas.map((s) => [s.spi, s.inbound]),
    [
      [0x1000, false],
      [0x2000, true],
      [0x3000, true],
    ],
  );
  const dup = `state add src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x1000 ${gcm}`;
  await assert.rejects(run(t, dup), (e: Error) => {
    assert.equal(
      e.message,
      `argument 'spi' (word 9, column ${dup.indexOf('spi') + 1}): an SA with dst 198.51.100.2 proto esp spi 4096 exists; delete it first`,
    );
    return true;
  });
  const got = await run(t, 'state get dst 198.51.100.2 proto esp spi 0x1000');
  assert.match(got.text, /^src 192\.0\.2\.1 dst 198\.51\.100\.2\n\tproto esp spi 0x00001000 reqid 1 mode tunnel\n/);
  assert.equal((got.json as { states: unknown[] }).states.length, 1);
  const ah = await run(t, 'state list proto ah nokeys');
  assert.match(ah.text, /auth-trunc hmac\(sha256\) <<Keys hidden>> 128/);
  assert.equal((await run(t, 'state list reqid 1')).text.split('\nsrc ').length, 2);
  assert.equal((await run(t, 'state list')).text.match(/^src /gm)?.length, 3);
  await run(t, 'state del dst 198.51.100.2 proto esp spi 0x1000');
  await assert.rejects(
    run(t, 'state del dst 198.51.100.2 proto esp spi 0x1000'),
    /no SA with dst 198\.51\.100\.2 proto esp spi 0x1000/,
  );
  assert.deepEqual(await run(t, 'state flush proto esp'), { text: '', json: { changed: 1 } });
  assert.equal(t.stateCount, 1);

  await run(
    t,
    'policy add src 203.0.113.0/24 dst 198.51.100.0/24 dir out tmpl src 192.0.2.1 dst 198.51.100.2 proto esp mode tunnel reqid 1',
  );
  await run(t, 'policy add src 198.51.100.0/24 dst 203.0.113.0/24 dir in action block');
  await assert.rejects(
    run(t, 'policy add src 198.51.100.0/24 dst 203.0.113.0/24 dir in'),
    /a policy with this selector and direction exists/,
  );
  const pl = await run(t, 'policy list dir out');
  assert.equal(
    pl.text,
    'src 203.0.113.0/24 dst 198.51.100.0/24 \n\tdir out priority 0 ptype main \n\ttmpl src 192.0.2.1 dst 198.51.100.2\n\t\tproto esp reqid 1 mode tunnel\n',
  );
  assert.equal((pl.json as { policies: { index: number }[] }).policies[0]!.index, 100);
  await run(t, 'policy del index 101 dir in');
  await run(t, 'policy del src 203.0.113.0/24 dst 198.51.100.0/24 dir out');
  await assert.rejects(run(t, 'policy del index 5 dir out'), /no such policy/);
  assert.equal(t.policyCount, 0);
  assert.deepEqual(k.calls, [
    'addSa 1000',
    'addSa 2000',
    'addSa 3000',
    'delSa esp 1000 198.51.100.2',
    'delSa esp 2000 192.0.2.1',
    'addPolicy out protect',
    'addPolicy in discard',
    'delPolicy 101',
    'delPolicy 100',
  ]);
  assert.match(
    xfrmError(() =>
      t.isInbound(parseXfrmLine(`state add src 203.0.113.5 dst 203.0.113.6 proto esp spi 0x100 ${gcm}`) as never),
    ).message,
    /cannot tell/,
  );
});

test('XfrmTables: executeLine, and applyFile locating argument and data-plane refusals at file:line', async () => {
  const k = new RecordingKernel();
  const t = new XfrmTables(k, { isLocalAddress: (a) => a === '192.0.2.1' });
  assert.deepEqual(await t.executeLine('ip xfrm state list'), { text: '', json: { states: [] } });
  const gcm = `aead 'rfc4106(gcm(aes))' ${KEY20} 128`;
  const text = [
    '# lab',
    `state add src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x1000 ${gcm}`,
    `state add src 203.0.113.1 dst 203.0.113.2 proto esp spi 0x1001 ${gcm}`,
  ].join('\n');
  await assert.rejects(t.applyFile(parseXfrmText(text, 'lab.xfrm'), 'lab.xfrm'), (e: Error) => {
    const col = text.split('\n')[2]!.indexOf(' dst ') + 2;
    assert.ok(
      e.message.startsWith(`lab.xfrm:3: argument 'dst' (word 5, column ${col}): cannot tell whether the SA is inbound`),
      e.message,
    );
    return true;
  });
  assert.equal(t.stateCount, 1, 'the lines before the failing one are applied');
  k.addSa = () => Promise.reject(new Error('SPI 0x2000 in use'));
  const more = `\n\nstate add src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x2000 ${gcm}`;
  await assert.rejects(t.applyFile(parseXfrmText(more, 'more.xfrm'), 'more.xfrm'), (e: Error) => {
    assert.equal(e.message, 'more.xfrm:3: line: SPI 0x2000 in use; fix or remove the line');
    return true;
  });
});

// ------------------------------------------------------------------ two data planes, xfrm lines only

const A = '203.0.113.1';
const B = '203.0.113.2';
const SITE_A = '192.0.2.0/25';
const SITE_B = '198.51.100.0/24';
const HOST_A = '192.0.2.10';
const HOST_B = '198.51.100.20';
const K_AB = '0x000102030405060708090a0b0c0d0e0fa0a1a2a3';
const K_BA = '0x101112131415161718191a1b1c1d1e1fb0b1b2b3';
const CBC_AB = '0x202122232425262728292a2b2c2d2e2f';
const CBC_BA = '0x2f2e2d2c2b2a29282726252423222120';
const HMAC_AB = `0x${'31'.repeat(32)}`;
const HMAC_BA = `0x${'32'.repeat(32)}`;

/** Linux-style setup: the same SA lines on both hosts, the policies written from each host's side. */
function setup(sas: string, policiesA: string, policiesB: string): { a: XfrmCommand[]; b: XfrmCommand[] } {
  return {
    a: parseXfrmText(`${sas}\n${policiesA}`, 'a.xfrm').map((c) => c.command),
    b: parseXfrmText(`${sas}\n${policiesB}`, 'b.xfrm').map((c) => c.command),
  };
}

function tunnelPolicies(proto: 'esp' | 'ah', local: string, remote: string, siteL: string, siteR: string): string {
  return [
    `policy add src ${siteL} dst ${siteR} dir out tmpl src ${local} dst ${remote} proto ${proto} mode tunnel reqid 1`,
    `policy add src ${siteR} dst ${siteL} dir in tmpl src ${remote} dst ${local} proto ${proto} mode tunnel reqid 1`,
  ].join('\n');
}

async function echoBothWays(cmds: { a: XfrmCommand[]; b: XfrmCommand[] }, src: string, dst: string, ah = false) {
  const net = new MemoryNetwork();
  const peers: Peer[] = [
    makePeer(net, 'a', 4, A, ah ? { protocol: 'ah' } : {}),
    makePeer(net, 'b', 4, B, ah ? { protocol: 'ah' } : {}),
  ];
  const [pa, pb] = peers as [Peer, Peer];
  try {
    const ta = new XfrmTables(pa.dp, { isLocalAddress: (x) => x === A });
    const tb = new XfrmTables(pb.dp, { isLocalAddress: (x) => x === B });
    for (const c of cmds.a) await ta.execute(c);
    for (const c of cmds.b) await tb.execute(c);
    const payload = Buffer.from('ts-ipsec manual keying echo 0123456789');
    const request = ipv4(src, dst, 1, icmpEcho(ICMP_ECHO_REQUEST, 0x4242, 1, payload), { id: 0x0101 });
    const atB = nextWrites(pb.tun);
    assert.ok(pa.tun.inject(request));
    const [seenAtB] = await atB;
    assert.deepEqual(seenAtB!.subarray(12), request.subarray(12), 'B receives the echo request A sent');
    const reply = echoReplyV4(seenAtB!);
    const atA = nextWrites(pa.tun);
    assert.ok(pb.tun.inject(reply));
    const [seenAtA] = await atA;
    assert.ok(ipv4HeaderOk(seenAtA!) && icmpOk(seenAtA!.subarray(20)));
    assert.deepEqual(seenAtA!.subarray(12), reply.subarray(12), 'A receives the echo reply B sent');
    return { ta, tb, pa, pb };
  } finally {
    for (const p of peers) {
      await p.tun.close();
      await p.raw.close();
      await p.ah.close();
      await p.udp.close();
    }
  }
}

test('two data planes keyed with ip xfrm lines only: ESP tunnel, AES-GCM-128', async () => {
  const sas = [
    `state add src ${A} dst ${B} proto esp spi 0xa0000001 reqid 1 mode tunnel replay-window 64 aead 'rfc4106(gcm(aes))' ${K_AB} 128 sel src ${SITE_A} dst ${SITE_B}`,
    `state add src ${B} dst ${A} proto esp spi 0xb0000001 reqid 1 mode tunnel replay-window 64 aead 'rfc4106(gcm(aes))' ${K_BA} 128 sel src ${SITE_B} dst ${SITE_A}`,
  ].join('\n');
  const { pa, pb } = await echoBothWays(
    setup(sas, tunnelPolicies('esp', A, B, SITE_A, SITE_B), tunnelPolicies('esp', B, A, SITE_B, SITE_A)),
    HOST_A,
    HOST_B,
  );
  const outA = await pa.dp.querySa({ protocol: 'esp', spi: 0xa0000001, dst: B });
  const inB = await pb.dp.querySa({ protocol: 'esp', spi: 0xa0000001, dst: B });
  assert.deepEqual([outA.packets, inB.packets], [1, 1]);
});

test('two data planes keyed with ip xfrm lines only: ESP transport in UDP 4500 with ESN, AES-CBC + HMAC-SHA256', async () => {
  const common = 'reqid 1 mode transport replay-window 128 flag esn';
  const sas = [
    `state add src ${A} dst ${B} proto esp spi 0xa0000002 ${common} enc 'cbc(aes)' ${CBC_AB} auth-trunc 'hmac(sha256)' ${HMAC_AB} 128 encap espinudp 4500 4500 0.0.0.0`,
    `state add src ${B} dst ${A} proto esp spi 0xb0000002 ${common} enc 'cbc(aes)' ${CBC_BA} auth-trunc 'hmac(sha256)' ${HMAC_BA} 128 encap espinudp 4500 4500 0.0.0.0`,
  ].join('\n');
  const pol = (l: string, r: string) =>
    [
      `policy add src ${l} dst ${r} dir out tmpl proto esp reqid 1`,
      `policy add src ${r} dst ${l} dir in tmpl proto esp reqid 1`,
    ].join('\n');
  const { ta } = await echoBothWays(setup(sas, pol(A, B), pol(B, A)), A, B);
  assert.match(
    (await ta.execute(parseXfrmLine('state list spi 0xa0000002'))).text,
    /flag esn \n[^]*encap type espinudp sport 4500 dport 4500 addr 0\.0\.0\.0/,
  );
});

test('two data planes keyed with ip xfrm lines only: AH tunnel, HMAC-SHA256-128', async () => {
  const sas = [
    `state add src ${A} dst ${B} proto ah spi 0xa0000003 reqid 1 mode tunnel replay-window 32 auth-trunc 'hmac(sha256)' ${HMAC_AB} 128`,
    `state add src ${B} dst ${A} proto ah spi 0xb0000003 reqid 1 mode tunnel replay-window 32 auth-trunc 'hmac(sha256)' ${HMAC_BA} 128`,
  ].join('\n');
  await echoBothWays(
    setup(sas, tunnelPolicies('ah', A, B, SITE_A, SITE_B), tunnelPolicies('ah', B, A, SITE_B, SITE_A)),
    HOST_A,
    HOST_B,
    true,
  );
});
