/** `ip xfrm state ...` lines: every argument form of the issue, each checked field by field. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseXfrmLine } from '../../src/xfrm/index.js';
import type { XfrmStateAdd } from '../../src/xfrm/index.js';
import { KEY16, KEY20, KEY32, KEY36, KEY48, KEY64, SA, strip, xfrmError } from './helpers.js';

const GCM = `aead 'rfc4106(gcm(aes))' ${KEY20} 128`;

function add(line: string): XfrmStateAdd {
  const c = parseXfrmLine(line);
  assert.equal(c.object, 'state');
  assert.equal(c.verb, 'add');
  return c as XfrmStateAdd;
}

test('ID, reqid, mode, replay-window; optional ip xfrm / xfrm words; SPI in hex, decimal and octal', () => {
  const c = add(
    `ip xfrm state add src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x00001000 reqid 7 mode tunnel replay-window 64 ${GCM}`,
  );
  assert.deepEqual(
    [c.src, c.dst, c.proto, c.spi, c.reqid, c.mode, c.replayWindow],
    ['192.0.2.1', '198.51.100.2', 'esp', 0x1000, 7, 'tunnel', 64],
  );
  assert.equal(add(`xfrm state add src 192.0.2.1 dst 198.51.100.2 proto esp spi 4096 ${GCM}`).spi, 4096);
  assert.equal(add(`state add src 192.0.2.1 dst 198.51.100.2 proto esp spi 010000 ${GCM}`).spi, 0o10000);
  assert.equal(add(`state add src 192.0.2.1 dst 198.51.100.2 proto esp spi 0xffffffff ${GCM}`).spi, 0xffffffff);
  const d = add(`state add proto esp spi 0x100 dst 198.51.100.2 src 192.0.2.1 ${GCM}`);
  assert.deepEqual([d.mode, d.reqid, d.replayWindow, d.flags], ['transport', 0, 0, []], 'Linux defaults');
  assert.equal(add(`${SA} reqid 0x10 ${GCM}`.replace('reqid 1 ', '')).reqid, 16);
});

test('IPv6 addresses are stored in RFC 5952 form', () => {
  const c = add(`state add src 2001:DB8:0:0::1 dst 2001:db8:0000::0002 proto esp spi 0x1000 ${GCM}`);
  assert.deepEqual([c.src, c.dst], ['2001:db8::1', '2001:db8::2']);
});

test('flag esn and af-unspec (one or several after one flag keyword); other Linux flags refused', () => {
  assert.deepEqual(add(`${SA} replay-window 128 flag esn ${GCM}`).flags, ['esn']);
  assert.deepEqual(add(`${SA} replay-window 32 flag af-unspec esn ${GCM}`).flags, ['af-unspec', 'esn']);
  for (const f of ['noecn', 'decap-dscp', 'nopmtudisc', 'wildrecv', 'icmp', 'align4']) {
    const e = xfrmError(() => add(`${SA} flag ${f} ${GCM}`));
    assert.equal(e.argument, 'flag');
    assert.match(e.message, new RegExp(`flag '${f}' is not supported`));
  }
  assert.match(xfrmError(() => add(`${SA} flag bogus ${GCM}`)).message, /unknown flag 'bogus'/);
  assert.match(xfrmError(() => add(`${SA} flag esn ${GCM}`)).message, /flag esn needs a replay window/);
});

test('every aead: rfc4106 with ICV 64/96/128, rfc4309, rfc4543, rfc7539esp; keys of every AES size', () => {
  for (const bits of [64, 96, 128]) {
    const c = add(`${SA} aead 'rfc4106(gcm(aes))' ${KEY36} ${bits}`);
    assert.deepEqual(strip(c.algorithms), [{ type: 'aead', name: 'rfc4106(gcm(aes))', key: KEY36.slice(2), bits }]);
  }
  assert.equal(
    add(`${SA} aead "rfc4106(gcm(aes))" ${KEY20.slice(0, -8)}${'00'.repeat(8)}0a0b0c0d 128`).algorithms[0]!.key.length,
    28,
  );
  assert.equal(add(`${SA} aead 'rfc4309(ccm(aes))' ${KEY20.slice(0, -2)} 64`).algorithms[0]!.key.length, 19);
  assert.equal(add(`${SA} aead 'rfc4543(gcm(aes))' ${KEY20} 128`).algorithms[0]!.name, 'rfc4543(gcm(aes))');
  assert.equal(add(`${SA} aead 'rfc7539esp(chacha20,poly1305)' ${KEY36} 128`).algorithms[0]!.key.length, 36);
});

test('enc cbc(aes) / aes, rfc3686(ctr(aes)), cipher_null "" with every auth-trunc and plain auth', () => {
  const c = add(`${SA} enc 'cbc(aes)' ${KEY16} auth-trunc 'hmac(sha256)' ${KEY32} 128`);
  assert.deepEqual(strip(c.algorithms), [
    { type: 'enc', name: 'cbc(aes)', key: KEY16.slice(2) },
    { type: 'auth-trunc', name: 'hmac(sha256)', key: KEY32.slice(2), bits: 128 },
  ]);
  assert.equal(add(`${SA} enc aes ${KEY32} auth sha1 ${KEY20}`).algorithms[0]!.name, 'aes');
  assert.equal(
    add(`${SA} enc 'rfc3686(ctr(aes))' ${KEY20} auth-trunc 'hmac(sha1)' ${KEY20} 96`).algorithms[1]!.bits,
    96,
  );
  const n = add(`${SA} enc cipher_null "" auth-trunc 'hmac(sha384)' ${KEY48} 192`);
  assert.equal(n.algorithms[0]!.key.length, 0);
  add(`${SA} enc 'ecb(cipher_null)' '' auth-trunc 'hmac(sha512)' ${KEY64} 256`);
  add(`${SA} enc 'cbc(aes)' ${KEY16} auth-trunc 'xcbc(aes)' ${KEY16} 96`);
  add(`${SA} enc 'cbc(aes)' ${KEY16} auth 'xcbc(aes)' ${KEY16}`);
  add(`${SA} enc 'cbc(aes)' ${KEY16} auth 'hmac(sha384)' ${KEY48}`);
  add(`${SA} enc 'cbc(aes)' ${KEY16} auth 'hmac(sha512)' ${KEY64}`);
  add(`${SA} enc 'cbc(aes)' ${KEY16} auth 'hmac(md5)' ${KEY16}`);
  add(`${SA} enc 'cbc(aes)' ${KEY16} auth-trunc 'cmac(aes)' ${KEY16} 96`);
  add(`${SA} enc des3_ede 0x${'01'.repeat(24)} auth sha1 ${KEY20}`);
});

test('KEY as a string is its bytes; odd hex digit counts get a 0 in front, as iproute2 does', () => {
  const c = add(`${SA} enc aes "0123456789abcdef"`);
  assert.deepEqual(Buffer.from(c.algorithms[0]!.key), Buffer.from('0123456789abcdef'));
  const odd = add(`${SA} enc aes 0x${'1'.repeat(31)}`);
  assert.equal(Buffer.from(odd.algorithms[0]!.key).toString('hex'), `0${'1'.repeat(31)}`);
  // A capital 0X is not a hex prefix to iproute2: it is a 34-byte string key, which AES refuses.
  assert.match(xfrmError(() => add(`${SA} enc aes 0X${'1'.repeat(32)}`)).message, /key is 34 bytes/);
});

test('AH: auth-trunc or auth only', () => {
  const c = add(
    `state add src 192.0.2.1 dst 198.51.100.2 proto ah spi 0x2000 reqid 2 mode transport auth-trunc 'hmac(sha256)' ${KEY32} 128`,
  );
  assert.equal(c.proto, 'ah');
  assert.equal(c.algorithms.length, 1);
  add(`state add src 192.0.2.1 dst 198.51.100.2 proto ah spi 0x2000 auth sha1 ${KEY20}`);
});

test('encap espinudp SPORT DPORT OADDR; other encapsulations refused', () => {
  const c = add(`${SA} ${GCM} encap espinudp 4500 4501 0.0.0.0`);
  assert.deepEqual(c.encap, { type: 'espinudp', sport: 4500, dport: 4501, oa: '0.0.0.0' });
  assert.match(xfrmError(() => add(`${SA} ${GCM} encap espinudp-nonike 4500 4500 0.0.0.0`)).message, /non-IKE markers/);
  assert.match(xfrmError(() => add(`${SA} ${GCM} encap espintcp 4500 4500 0.0.0.0`)).message, /RFC 8229/);
  assert.match(xfrmError(() => add(`${SA} ${GCM} encap espinudp 4500 70000 0.0.0.0`)).message, /0\.\.65535/);
});

test('sel with prefixes, bare addresses, proto by name or number, ports, ICMP type/code', () => {
  assert.deepEqual(add(`${SA} ${GCM} sel src 203.0.113.0/24 dst 198.51.100.0/25`).sel, {
    src: '203.0.113.0/24',
    dst: '198.51.100.0/25',
  });
  assert.deepEqual(add(`${SA} ${GCM} sel src 203.0.113.7 dst 198.51.100.9 proto udp sport 53 dport 5353`).sel, {
    src: '203.0.113.7/32',
    dst: '198.51.100.9/32',
    proto: 17,
    sport: 53,
    dport: 5353,
  });
  assert.deepEqual(add(`${SA} ${GCM} sel src 2001:db8::/32 dst 2001:db8:1::/48 proto 58 type 128 code 0`).sel, {
    src: '2001:db8::/32',
    dst: '2001:db8:1::/48',
    proto: 58,
    type: 128,
    code: 0,
  });
  assert.deepEqual(add(`${SA} ${GCM} sel dst 198.51.100.0/24 proto tcp`).sel, {
    src: '0.0.0.0/0',
    dst: '198.51.100.0/24',
    proto: 6,
  });
  assert.match(
    xfrmError(() => add(`${SA} ${GCM} sel src 203.0.113.0/24 dst 198.51.100.0/24 sport 53`)).message,
    /'sport' needs proto tcp/,
  );
  assert.match(
    xfrmError(() => add(`${SA} ${GCM} sel src 203.0.113.0/24 dst 198.51.100.0/24 proto udp type 8`)).message,
    /'type' needs proto icmp/,
  );
  assert.match(
    xfrmError(() => add(`${SA} ${GCM} sel src 203.0.113.0/24 dst 2001:db8::/32`)).message,
    /different address families/,
  );
  assert.match(
    xfrmError(() => add(`${SA} ${GCM} sel src 203.0.113.0/33 dst 198.51.100.0/24`)).message,
    /bad prefix length/,
  );
  assert.match(
    xfrmError(() => add(`${SA} ${GCM} sel src 203.0.113.0/24 dst 198.51.100.0/24 dev eth0`)).message,
    /device selectors/,
  );
});

test('dir in|out, limits, tfcpad', () => {
  assert.equal(add(`${SA} ${GCM} dir in`).dir, 'in');
  assert.equal(add(`${SA} ${GCM} dir out`).dir, 'out');
  assert.match(xfrmError(() => add(`${SA} ${GCM} dir fwd`)).message, /in or out/);
  const c = add(
    `${SA} ${GCM} limit byte-soft 1000 limit byte-hard 2000 limit packet-soft 10 limit packet-hard 20 tfcpad 1200`,
  );
  assert.deepEqual(c.limits, { softBytes: 1000, hardBytes: 2000, softPackets: 10, hardPackets: 20 });
  assert.equal(c.tfcpad, 1200);
  assert.match(xfrmError(() => add(`${SA} ${GCM} limit time-hard 60`)).message, /time limits are not supported/);
  assert.match(xfrmError(() => add(`${SA.replace('tunnel', 'transport')} ${GCM} tfcpad 100`)).message, /tunnel mode/);
});

test('state del, get, list filters, flush', () => {
  assert.deepEqual(parseXfrmLine('state del src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x1000'), {
    object: 'state',
    verb: 'del',
    src: '192.0.2.1',
    dst: '198.51.100.2',
    proto: 'esp',
    spi: 0x1000,
  });
  assert.deepEqual(parseXfrmLine('ip xfrm state delete dst 198.51.100.2 proto ah spi 4096'), {
    object: 'state',
    verb: 'del',
    dst: '198.51.100.2',
    proto: 'ah',
    spi: 4096,
  });
  assert.equal(parseXfrmLine('state get dst 198.51.100.2 proto esp spi 0x1000').verb, 'get');
  assert.deepEqual(parseXfrmLine('state list'), { object: 'state', verb: 'list', nokeys: false });
  assert.deepEqual(parseXfrmLine('state show dst 198.51.100.2 proto esp reqid 3 mode tunnel nokeys'), {
    object: 'state',
    verb: 'list',
    dst: '198.51.100.2',
    proto: 'esp',
    reqid: 3,
    mode: 'tunnel',
    nokeys: true,
  });
  assert.deepEqual(parseXfrmLine('state flush'), { object: 'state', verb: 'flush' });
  assert.deepEqual(parseXfrmLine('state flush proto ah'), { object: 'state', verb: 'flush', proto: 'ah' });
  assert.match(
    xfrmError(() => parseXfrmLine('state del dst 198.51.100.2 proto esp')).message,
    /argument 'spi'.*missing/,
  );
});

test('what Linux has and ts-ipsec does not is refused by name, never ignored', () => {
  const refused: [string, RegExp][] = [
    [
      `state add src 192.0.2.1 dst 198.51.100.2 proto comp spi 0x1000 comp deflate`,
      /implements esp and ah only, not comp/,
    ],
    [`${SA.replace('tunnel', 'beet')} ${GCM}`, /unsupported mode 'beet'/],
    [`${SA} ${GCM} mark 7`, /marks are not supported/],
    [`${SA} ${GCM} if_id 3`, /XFRM interfaces/],
    [`${SA} ${GCM} comp deflate`, /IPComp/],
    [`${SA} ${GCM} frobnicate`, /unexpected or unsupported argument 'frobnicate'/],
    ['state update src 192.0.2.1', /'state update' is not supported/],
    ['state allocspi src 192.0.2.1', /'state allocspi' is not supported/],
    ['monitor', /ip xfrm monitor is not supported/],
    [`${SA} enc 'cbc(des)' 0x0102030405060708 auth sha1 ${KEY20}`, /single DES/],
    [`${SA} aead 'rfc7539(chacha20,poly1305)' ${KEY36} 128`, /rfc7539esp/],
    [`${SA} enc 'cbc(twofish)' ${KEY16}`, /Twofish is not implemented/],
  ];
  for (const [line, re] of refused) assert.match(xfrmError(() => parseXfrmLine(line)).message, re, line);
});
