/** IKE fragmentation (RFC 7383): sealing into SKF fragments under a size limit, and bounded reassembly. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDecipheriv } from 'node:crypto';
import { EncrId, IntegId } from '../../../src/crypto/ids.js';
import { createTestRng } from '../../../src/crypto/index.js';
import {
  ExchangeType,
  PayloadType,
  decodeMessage,
  encodePayloads,
  encodedLengthPayloads,
} from '../../../src/ike/codec/index.js';
import type { IkeHeader, Payload } from '../../../src/ike/codec/index.js';
import {
  FragmentReassembler,
  createSkCrypter,
  fragmentPlaintext,
  sealMessage,
} from '../../../src/ike/protection/index.js';
import type { OpenedFragment, SkCrypter, SkKeys } from '../../../src/ike/protection/index.js';
import { Prng } from '../codec/prng.js';

const CBC: SkKeys = {
  encrId: EncrId.ENCR_AES_CBC,
  integId: IntegId.AUTH_HMAC_SHA2_256_128,
  skE: Buffer.alloc(16, 1),
  skA: Buffer.alloc(32, 2),
};
const CHACHA: SkKeys = { encrId: EncrId.ENCR_CHACHA20_POLY1305, skE: Buffer.alloc(36, 3) };

const header: IkeHeader = {
  spiI: Buffer.alloc(8, 0xaa),
  spiR: Buffer.alloc(8, 0xbb),
  nextPayload: 0,
  majorVersion: 2,
  minorVersion: 0,
  exchangeType: ExchangeType.IKE_AUTH,
  flags: { initiator: true, response: false, version: false },
  messageId: 1,
  length: 0,
};

function bigInner(r: Prng): Payload[] {
  return [
    { type: PayloadType.IDi, idType: 2, data: Buffer.from('client.example.com') },
    { type: PayloadType.CERT, certEncoding: 4, data: r.bytes(2500) },
    { type: PayloadType.AUTH, method: 1, data: r.bytes(256) },
  ];
}

function openAll(c: SkCrypter, fragments: readonly Buffer[]): OpenedFragment[] {
  return fragments.map((f, i) => {
    const r = c.openFragment(f);
    assert.ok(r.ok, `fragment ${i + 1}: ${r.ok ? '' : r.detail}`);
    return r;
  });
}

for (const [name, keys] of [
  ['aes128-sha256', CBC],
  ['chacha20poly1305', CHACHA],
] as const) {
  test(`${name}: a 2.8 KB IKE_AUTH split for 576-byte messages, reassembled in any order`, () => {
    const r = new Prng(42);
    const inner = bigInner(r);
    const c = createSkCrypter(keys, createTestRng(name));
    const fragments = sealMessage(c, header, inner, { fragmentation: true, maxMessageLength: 576 });
    const plaintextLength = encodedLengthPayloads(inner);
    const expectedTotal = Math.ceil(plaintextLength / c.plaintextCapacity(576, true));
    assert.equal(fragments.length, expectedTotal);
    assert.ok(fragments.length >= 5);
    fragments.forEach((f, i) => {
      assert.ok(f.length <= 576, `fragment ${i + 1} is ${f.length} bytes`);
      const m = decodeMessage(f);
      assert.equal(m.header.nextPayload, PayloadType.SKF);
      assert.equal(m.header.messageId, 1);
      const skf = m.payloads[0];
      assert.ok(skf?.type === PayloadType.SKF && m.payloads.length === 1);
      assert.equal(skf.fragmentNumber, i + 1);
      assert.equal(skf.totalFragments, fragments.length);
      assert.equal(skf.firstPayload, i === 0 ? PayloadType.IDi : PayloadType.NONE);
    });
    // All but the last fragment are filled to the limit's capacity.
    for (const f of fragments.slice(0, -1)) assert.ok(f.length > 576 - c.blockSize - 1);
    const opened = openAll(c, fragments);
    for (let round = 0; round < 6; round++) {
      // Round 0 delivers last to first; the others are random permutations.
      const order = opened.map((_, i) => opened.length - 1 - i);
      if (round > 0) {
        for (let i = order.length - 1; i > 0; i--) {
          const j = r.int(0, i);
          [order[i], order[j]] = [order[j] ?? 0, order[i] ?? 0];
        }
      }
      const re = new FragmentReassembler();
      let done;
      for (const [k, i] of order.entries()) {
        const res = re.add(opened[i] as OpenedFragment);
        if (k < order.length - 1) {
          assert.deepStrictEqual(res, { status: 'incomplete', received: k + 1, totalFragments: fragments.length });
        } else {
          done = res;
        }
      }
      assert.ok(done?.status === 'complete');
      assert.deepStrictEqual(done.payloads, inner);
      assert.equal(done.firstPayload, PayloadType.IDi);
      assert.equal(done.messageId, 1);
      const plain = Buffer.alloc(plaintextLength);
      encodePayloads(inner, plain, 0);
      assert.ok(done.plaintext.equals(plain));
    }
  });
}

test('no fragmentation when it is off or the message fits', () => {
  const c = createSkCrypter(CHACHA, createTestRng('fits'));
  const r = new Prng(1);
  const big = sealMessage(c, header, bigInner(r), { fragmentation: false, maxMessageLength: 576 });
  assert.equal(big.length, 1);
  assert.equal(decodeMessage(big[0] ?? Buffer.alloc(0)).payloads[0]?.type, PayloadType.SK);
  const small: Payload[] = [{ type: PayloadType.NONCE, data: r.bytes(32) }];
  const one = sealMessage(c, header, small, { fragmentation: true, maxMessageLength: 576 });
  assert.equal(one.length, 1);
  assert.ok(c.open(one[0] ?? Buffer.alloc(0)).ok);
  assert.throws(() => sealMessage(c, header, bigInner(r), { fragmentation: true, maxMessageLength: 60 }), RangeError);
});

test('chacha20poly1305: the AAD of a fragment covers the Fragment Number and Total Fragments (node:crypto check)', () => {
  const c = createSkCrypter(CHACHA, createTestRng('aad'));
  const fragments = fragmentPlaintext(c, header, PayloadType.IDi, Buffer.alloc(300, 0x41), 200);
  const f = fragments[1];
  assert.ok(f !== undefined);
  const ivOff = 28 + 8;
  const nonce = Buffer.concat([CHACHA.skE.subarray(32), f.subarray(ivOff, ivOff + 8)]);
  const d = createDecipheriv('chacha20-poly1305', CHACHA.skE.subarray(0, 32), nonce, { authTagLength: 16 });
  d.setAAD(f.subarray(0, ivOff), { plaintextLength: f.length - ivOff - 8 - 16 });
  d.setAuthTag(f.subarray(f.length - 16));
  const plain = Buffer.concat([d.update(f.subarray(ivOff + 8, f.length - 16)), d.final()]);
  assert.equal(plain.subarray(0, -1).toString(), 'A'.repeat(plain.length - 1));
  assert.equal(plain[plain.length - 1], 0);
  // Changing the Total Fragments field breaks the tag.
  const bad = Buffer.from(f);
  bad[28 + 7] = (bad[28 + 7] ?? 0) ^ 1;
  const r = c.openFragment(bad);
  assert.ok(!r.ok && r.reason === 'integrity');
});

/** Opened fragments of a 10-fragment message, for the reassembler's edge cases. */
function tenFragments(messageId = 5, maxMessageLength = 120): OpenedFragment[] {
  const c = createSkCrypter(CHACHA, createTestRng(`ten ${messageId} ${maxMessageLength}`));
  const nonce: Payload = { type: PayloadType.NONCE, data: Buffer.alloc(10 * 60 - 4, 0x5a) };
  const plain = Buffer.alloc(encodedLengthPayloads([nonce]));
  encodePayloads([nonce], plain, 0);
  const chunk = c.plaintextCapacity(maxMessageLength, true);
  const fragments = fragmentPlaintext(c, { ...header, messageId }, PayloadType.NONCE, plain, maxMessageLength);
  assert.equal(fragments.length, Math.ceil(plain.length / chunk));
  return openAll(c, fragments);
}

test('reassembly: duplicates are ignored, missing fragments are listed, completion needs every one', () => {
  const f = tenFragments();
  const total = f.length;
  const re = new FragmentReassembler();
  assert.equal(re.add(f[0] as OpenedFragment).status, 'incomplete');
  assert.deepStrictEqual(re.add(f[0] as OpenedFragment), {
    status: 'rejected',
    reason: 'duplicate',
    detail: 'fragment 1 already held',
  });
  for (const x of f.slice(2)) assert.equal(re.add(x).status, 'incomplete');
  assert.deepStrictEqual(re.missing(), [2]);
  assert.equal(re.messageId, 5);
  const done = re.add(f[1] as OpenedFragment);
  assert.equal(done.status, 'complete');
  assert.deepStrictEqual(re.missing(), []);
  // A late copy of any fragment of the completed message is a retransmission.
  assert.deepStrictEqual(re.add(f[0] as OpenedFragment), { status: 'retransmit', messageId: 5, fragmentNumber: 1 });
  assert.ok(total >= 5);
});

test('reassembly: a larger Total Fragments restarts, a smaller one is stale (RFC 7383 2.6)', () => {
  const coarse = tenFragments(5, 200);
  const fine = tenFragments(5, 120);
  assert.ok(fine.length > coarse.length);
  const re = new FragmentReassembler();
  assert.equal(re.add(coarse[0] as OpenedFragment).status, 'incomplete');
  assert.equal(re.add(fine[0] as OpenedFragment).status, 'incomplete');
  assert.equal(re.missing().length, fine.length - 1);
  const stale = re.add(coarse[1] as OpenedFragment);
  assert.ok(stale.status === 'rejected' && stale.reason === 'staleTotal');
  let last;
  for (const x of fine.slice(1)) last = re.add(x);
  assert.equal(last?.status, 'complete');
});

test('reassembly: bad numbers, limits, old and new message IDs', () => {
  const f = tenFragments(5);
  const first = f[0] as OpenedFragment;
  const re = new FragmentReassembler({ maxFragments: 4, maxBytes: 65535 });
  const tooMany = re.add(first);
  assert.ok(tooMany.status === 'rejected' && tooMany.reason === 'tooMany');
  const re2 = new FragmentReassembler();
  for (const [n, t] of [
    [0, 3],
    [4, 3],
    [1, 0],
  ] as const) {
    const r = re2.add({ ...first, fragmentNumber: n, totalFragments: t });
    assert.ok(r.status === 'rejected' && r.reason === 'badNumber', `${n}/${t}`);
  }
  const re3 = new FragmentReassembler({ maxFragments: 64, maxBytes: 150 });
  re3.add(f[0] as OpenedFragment);
  re3.add(f[1] as OpenedFragment);
  const big = re3.add(f[2] as OpenedFragment);
  assert.ok(big.status === 'rejected' && big.reason === 'tooLarge');
  assert.equal(re3.messageId, undefined);
  const re4 = new FragmentReassembler();
  re4.add(f[0] as OpenedFragment);
  const newer = tenFragments(6);
  assert.equal(re4.add(newer[0] as OpenedFragment).status, 'incomplete');
  assert.equal(re4.messageId, 6);
  const old = re4.add(f[1] as OpenedFragment);
  assert.ok(old.status === 'rejected' && old.reason === 'oldMessage');
});

test('reassembly: authenticated fragments whose joined payloads do not decode give syntax', () => {
  const c = createSkCrypter(CBC, createTestRng('syntax'));
  const fragments = fragmentPlaintext(c, header, PayloadType.NONCE, Buffer.alloc(500, 0xff), 200);
  const re = new FragmentReassembler();
  let last;
  for (const f of openAll(c, fragments)) last = re.add(f);
  assert.ok(last?.status === 'rejected' && last.reason === 'syntax');
});

test('fuzz: 5,000 random fragments never throw out of the reassembler and stay within its limits', () => {
  const r = new Prng(0xf4a6);
  const re = new FragmentReassembler({ maxFragments: 16, maxBytes: 2000 });
  const seen = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const total = r.int(0, 20);
    const fragment: OpenedFragment = {
      ok: true,
      header: { ...header, messageId: r.int(0, 3) },
      fragmentNumber: r.int(0, total + 1),
      totalFragments: total,
      firstPayload: r.pick([0, PayloadType.NONCE, PayloadType.NOTIFY, 200]),
      plaintext: r.bytes(r.int(0, 300)),
    };
    const res = re.add(fragment);
    seen.add(res.status === 'rejected' ? res.reason : res.status);
    assert.ok(re.missing().length <= 16);
  }
  for (const s of ['incomplete', 'badNumber', 'tooMany', 'duplicate', 'oldMessage']) assert.ok(seen.has(s), s);
});
