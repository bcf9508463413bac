/**
 * Listings in iproute2's layout, compared with hand-written expected text (states: no ESP in this kernel to
 * ask) and, for policies, with the real `ip xfrm policy list` of a scratch network namespace when this host
 * can make one. JSON forms. Round trip: parse -> formatXfrmCommand -> parse gives the same command.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  formatPolicy,
  formatPolicyList,
  formatState,
  formatStateList,
  formatXfrmCommand,
  parseXfrmLine,
  policyToJson,
  stateToJson,
} from '../../src/xfrm/index.js';
import type { XfrmPolicyAdd, XfrmStateAdd } from '../../src/xfrm/index.js';
import { KEY16, KEY20, KEY32, SA, strip } from './helpers.js';

const state = (line: string): XfrmStateAdd => parseXfrmLine(line) as XfrmStateAdd;
const policy = (line: string): XfrmPolicyAdd => parseXfrmLine(line) as XfrmPolicyAdd;

test('state list: AEAD in tunnel mode with a selector', () => {
  const s = state(
    `${SA} replay-window 32 aead 'rfc4106(gcm(aes))' ${KEY20} 128 sel src 203.0.113.0/24 dst 198.51.100.0/24 proto udp dport 53`,
  );
  assert.equal(
    formatState({ state: s }),
    'src 192.0.2.1 dst 198.51.100.2\n' +
      '\tproto esp spi 0x00001000 reqid 1 mode tunnel\n' +
      '\treplay-window 32 \n' +
      '\taead rfc4106(gcm(aes)) 0x000102030405060708090a0b0c0d0e0f10111213 128\n' +
      '\tanti-replay context: seq 0x0, oseq 0x0, bitmap 0x00000000\n' +
      '\tsel src 203.0.113.0/24 dst 198.51.100.0/24 proto udp dport 53 \n',
  );
});

test('state list: canonical names, auth listed as auth-trunc before enc, encap, ESN replay block, counters', () => {
  const s = state(
    `state add src 192.0.2.1 dst 198.51.100.2 proto esp spi 3000 reqid 9 mode transport replay-window 64 flag esn enc aes ${KEY16} auth sha1 ${KEY20} encap espinudp 4500 4500 0.0.0.0`,
  );
  assert.equal(
    formatState({ state: s, counters: { seq: 0x2a, seqHi: 1, oseq: 7, oseqHi: 0, bitmap: [0x80000001, 0x3] } }),
    'src 192.0.2.1 dst 198.51.100.2\n' +
      '\tproto esp spi 0x00000bb8 reqid 9 mode transport\n' +
      '\treplay-window 0 flag esn \n' +
      '\tauth-trunc hmac(sha1) 0x000102030405060708090a0b0c0d0e0f10111213 96\n' +
      '\tenc cbc(aes) 0x000102030405060708090a0b0c0d0e0f\n' +
      '\tencap type espinudp sport 4500 dport 4500 addr 0.0.0.0\n' +
      '\tanti-replay esn context:\n' +
      '\t seq-hi 0x1, seq 0x2a, oseq-hi 0x0, oseq 0x7\n' +
      '\t replay_window 64, bitmap-length 2\n' +
      '\t 00000003 80000001 \n' +
      '\tsel src 0.0.0.0/0 dst 0.0.0.0/0 \n',
  );
});

test('state list: AH over IPv6, af-unspec without sel, cipher_null, nokeys, ICMP selector', () => {
  const ah = state(
    `state add src 2001:db8::1 dst 2001:db8::2 proto ah spi 0x2000 reqid 2 mode tunnel flag af-unspec auth-trunc 'hmac(sha256)' ${KEY32} 128`,
  );
  assert.equal(
    formatState({ state: ah }, true),
    'src 2001:db8::1 dst 2001:db8::2\n' +
      '\tproto ah spi 0x00002000 reqid 2 mode tunnel\n' +
      '\treplay-window 0 flag af-unspec \n' +
      '\tauth-trunc hmac(sha256) <<Keys hidden>> 128\n' +
      '\tanti-replay context: seq 0x0, oseq 0x0, bitmap 0x00000000\n',
  );
  const nul = state(
    `state add src 2001:db8::1 dst 2001:db8::2 proto esp spi 0x2001 enc cipher_null "" auth-trunc 'hmac(sha256)' ${KEY32} 128 sel src 2001:db8:a::/48 dst 2001:db8:b::1 proto ipv6-icmp type 128`,
  );
  assert.equal(
    formatState({ state: nul }),
    'src 2001:db8::1 dst 2001:db8::2\n' +
      '\tproto esp spi 0x00002001 reqid 0 mode transport\n' +
      '\treplay-window 0 \n' +
      `\tauth-trunc hmac(sha256) ${KEY32} 128\n` +
      '\tenc ecb(cipher_null) 0x\n' +
      '\tanti-replay context: seq 0x0, oseq 0x0, bitmap 0x00000000\n' +
      '\tsel src 2001:db8:a::/48 dst 2001:db8:b::1/128 proto ipv6-icmp type 128 \n',
  );
  assert.equal(
    formatStateList([{ state: ah }, { state: nul }]),
    formatState({ state: ah }) + formatState({ state: nul }),
  );
});

test('policy list: selector line, dir/action/priority/ptype line, template lines', () => {
  const p = policy(
    'policy add src 203.0.113.0/24 dst 198.51.100.0/24 proto tcp sport 1000 dport 22 dir out priority 100 tmpl src 192.0.2.1 dst 198.51.100.2 proto esp mode tunnel reqid 4',
  );
  assert.equal(
    formatPolicy({ policy: p }),
    'src 203.0.113.0/24 dst 198.51.100.0/24 proto tcp sport 1000 dport 22 \n' +
      '\tdir out priority 100 ptype main \n' +
      '\ttmpl src 192.0.2.1 dst 198.51.100.2\n' +
      '\t\tproto esp reqid 4 mode tunnel\n',
  );
  const b = policy('policy add src 203.0.113.0/24 dst 198.51.100.0/24 dir fwd action block');
  assert.equal(
    formatPolicyList([{ policy: b }]),
    'src 203.0.113.0/24 dst 198.51.100.0/24 \n\tdir fwd action block priority 0 ptype main \n',
  );
});

/** Lines real `ip xfrm policy add` accepts; their real listings are the expected output. */
const ORACLE_POLICIES = [
  'policy add src 203.0.113.0/24 dst 198.51.100.0/24 proto udp sport 53 dir out priority 100 tmpl src 192.0.2.1 dst 198.51.100.2 proto esp reqid 5 mode tunnel',
  'policy add src 192.0.2.0/24 dst 198.51.100.0/24 dir in action block',
  'policy add src 2001:db8::/32 dst 2001:db8:1::1/128 proto ipv6-icmp type 128 dir fwd tmpl src 2001:db8::1 dst 2001:db8::2 proto ah spi 0x100 reqid 7 mode tunnel',
  'policy add src 192.0.2.0/24 dst 198.51.100.0/24 dir out tmpl proto esp reqid 3 mode transport',
  'policy add src 2001:db8::/32 dst 2001:db8:1::/48 dir in tmpl proto ah reqid 3',
  'policy add src 192.0.2.7 dst 198.51.100.9/32 proto tcp dport 22 dir fwd priority 7 action block',
  'policy add src 192.0.2.0/24 dst 198.51.100.0/24 proto icmp type 8 code 0 dir in',
  'policy add src 0.0.0.0/0 dst 198.51.100.0/24 proto 132 sport 9 dport 10 dir out priority 4294967295',
];

function canMakeNamespaces(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

test(
  'policy list matches real iproute2 output line for line (scratch network namespace)',
  { skip: canMakeNamespaces() ? false : 'needs root and ip netns' },
  () => {
    const ns = `tsipsec-xfrm-${process.pid}`;
    const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
    ip('netns', 'add', ns);
    try {
      for (const line of ORACLE_POLICIES) {
        ip('-n', ns, 'xfrm', ...line.split(' '));
        const real = ip('-n', ns, 'xfrm', 'policy', 'list');
        ip('-n', ns, 'xfrm', 'policy', 'flush');
        assert.equal(formatPolicy({ policy: policy(line) }), real, line);
      }
    } finally {
      ip('netns', 'del', ns);
    }
  },
);

test('JSON forms of states and policies', () => {
  const s = state(
    `${SA} replay-window 64 flag esn enc 'rfc3686(ctr(aes))' ${KEY20} auth-trunc 'hmac(sha256)' ${KEY32} 128 encap espinudp 4500 4501 0.0.0.0 sel src 203.0.113.0/24 dst 198.51.100.0/24 proto udp sport 5 dir out limit packet-hard 9 tfcpad 100`,
  );
  assert.deepEqual(stateToJson({ state: s }), {
    src: '192.0.2.1',
    dst: '198.51.100.2',
    proto: 'esp',
    spi: 4096,
    spiHex: '0x00001000',
    reqid: 1,
    mode: 'tunnel',
    replayWindow: 64,
    flags: ['esn'],
    dir: 'out',
    enc: { name: 'rfc3686(ctr(aes))', key: KEY20 },
    authTrunc: { name: 'hmac(sha256)', key: KEY32, truncBits: 128 },
    encap: { type: 'espinudp', sport: 4500, dport: 4501, oa: '0.0.0.0' },
    sel: { src: '203.0.113.0/24', dst: '198.51.100.0/24', proto: 17, protoName: 'udp', sport: 5 },
    limits: { hardPackets: 9 },
    tfcpad: 100,
  });
  const g = state(`${SA} aead 'rfc4106(gcm(aes))' ${KEY20} 96`);
  assert.deepEqual(stateToJson({ state: g }, true).aead, { name: 'rfc4106(gcm(aes))', key: null, icvBits: 96 });
  assert.equal(stateToJson({ state: g }).sel, null);
  const p = policy(
    'policy add src 203.0.113.0/24 dst 198.51.100.0/24 dir out tmpl src 192.0.2.1 dst 198.51.100.2 proto esp mode tunnel reqid 4',
  );
  assert.deepEqual(policyToJson({ policy: p, index: 12 }), {
    sel: { src: '203.0.113.0/24', dst: '198.51.100.0/24' },
    dir: 'out',
    action: 'allow',
    priority: 0,
    index: 12,
    tmpls: [{ src: '192.0.2.1', dst: '198.51.100.2', proto: 'esp', spi: null, mode: 'tunnel', reqid: 4 }],
  });
});

test('round trip: parse -> formatXfrmCommand -> parse gives the same command for every form', () => {
  const lines = [
    `${SA} replay-window 128 flag af-unspec esn aead 'rfc4106(gcm(aes))' ${KEY20} 64`,
    `${SA} aead 'rfc7539esp(chacha20,poly1305)' ${KEY32}20212223 128 encap espinudp 4500 4500 0.0.0.0`,
    `${SA} aead 'rfc4543(gcm(aes))' ${KEY20} 128 sel src 2001:db8::/32 dst 2001:db8:1::/48 proto ipv6-icmp type 1 code 4`,
    `${SA} enc cipher_null "" auth 'xcbc(aes)' ${KEY16} dir in limit byte-soft 10 limit byte-hard 20 limit packet-soft 1 limit packet-hard 2`,
    `${SA} enc "cbc(aes)" "0123456789abcdef" auth-trunc 'hmac(sha256)' ${KEY32} 128 sel src 203.0.113.1 dst 198.51.100.0/24 proto 6 sport 1 dport 2 tfcpad 64`,
    `state add src 2001:db8::1 dst 2001:db8::2 proto ah spi 077 auth sha1 ${KEY20}`,
    'state del src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x1000',
    'state get dst 198.51.100.2 proto ah spi 4096',
    'state list src 192.0.2.1 dst 198.51.100.2 proto esp spi 1 mode tunnel reqid 2 nokeys',
    'state list',
    'state flush proto esp',
    'policy add src 203.0.113.0/24 dst 198.51.100.0/24 proto udp sport 53 dir out priority 100 tmpl src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x100 mode tunnel reqid 5',
    'policy add src 2001:db8::/32 dst 2001:db8:1::1 proto ipv6-icmp type 128 code 0 dir fwd action block',
    'policy add dst 198.51.100.0/24 dir in tmpl proto ah reqid 3',
    'policy del src 203.0.113.0/24 dst 198.51.100.0/24 dir out',
    'policy del index 7 dir in',
    'policy list src 203.0.113.0/24 dir out priority 3 action allow index 2',
    'policy flush',
  ];
  for (const line of lines) {
    const first = parseXfrmLine(line);
    const text = formatXfrmCommand(first);
    const again = parseXfrmLine(text);
    assert.deepEqual(strip(again), strip(first), `${line}\n -> ${text}`);
    assert.equal(formatXfrmCommand(again), text, 'formatting is stable');
  }
  assert.equal(
    formatXfrmCommand(parseXfrmLine(`${SA} aead 'rfc4106(gcm(aes))' ${KEY20} 128`)),
    `state add src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x00001000 reqid 1 mode tunnel replay-window 0 aead 'rfc4106(gcm(aes))' ${KEY20} 128`,
  );
});
