/**
 * Hostile input: 100,000 mutated, truncated, extended and random packets through `open`. Every call must
 * return (never throw), with 'ok' or a drop reason, never 'internal'; every drop is counted. 'ok' is only
 * allowed when the mutation touched nothing but mutable header bits or bytes past the IP length.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DROP_REASONS, totalDrops } from '../../src/common/drop.js';
import type { PacketBuffer } from '../../src/common/packet-buffer.js';
import type { AhInboundSa } from '../../src/ah/index.js';
import { HOP4A, HOP4B, HOP6A, HOP6B, REF_ALGOS, pattern, prng, udpDatagram } from './reference.js';
import { ipv4Udp, ipv6Udp } from './packets.js';
import { inboundSa, saPair, sealOk } from './sa-helpers.js';

const ITERATIONS = 100_000;
const ALLOWED = new Set<string>(['ok', ...DROP_REASONS]);

interface Base {
  name: string;
  sealed: Buffer;
  /** Bits per byte a router may change without breaking the ICV. */
  mask: Uint8Array;
  inb: AhInboundSa;
}

function maskFor(sealed: Buffer): Uint8Array {
  const m = new Uint8Array(sealed.length);
  if (sealed[0]! >> 4 === 4) {
    m[1] = 0xff;
    m[6] = 0xc0;
    m[8] = 0xff;
    m[10] = 0xff;
    m[11] = 0xff;
  } else {
    m[0] = 0x0f;
    m[1] = 0xff;
    m[2] = 0xff;
    m[3] = 0xff;
    m[7] = 0xff;
  }
  return m;
}

function bases(): Base[] {
  const payload = udpDatagram(pattern(40, 3));
  const v4 = ipv4Udp(payload, { id: 1 });
  const v6 = ipv6Udp(payload);
  const r: Base[] = [];
  for (const name of ['hmac-sha1-96', 'hmac-sha256-128', 'aes-xcbc-96', 'aes128-gmac']) {
    const algo = REF_ALGOS.find((a) => a.name === name)!;
    for (const esn of [false, true]) {
      const variants: {
        tag: string;
        mode: 'tunnel' | 'transport';
        inner: Buffer;
        tunnel?: { src: Buffer; dst: Buffer };
      }[] = [
        { tag: 'transport v4', mode: 'transport', inner: v4 },
        { tag: 'transport v6', mode: 'transport', inner: v6 },
        { tag: 'tunnel v4/v6', mode: 'tunnel', inner: v6, tunnel: { src: HOP4A, dst: HOP4B } },
        { tag: 'tunnel v6/v4', mode: 'tunnel', inner: v4, tunnel: { src: HOP6A, dst: HOP6B } },
      ];
      for (const v of variants) {
        const { out } = saPair(algo, { mode: v.mode, esn, ...(v.tunnel !== undefined ? { tunnel: v.tunnel } : {}) });
        const sealed = sealOk(out, v.inner);
        r.push({
          name: `${name}${esn ? ' ESN' : ''} ${v.tag}`,
          sealed,
          mask: maskFor(sealed),
          inb: inboundSa(algo, { mode: v.mode, esn, replayWindow: 0 }),
        });
      }
    }
  }
  return r;
}

test(`${ITERATIONS} hostile packets through open give only counted drop reasons`, (t) => {
  const all = bases();
  const rnd = prng(0x5eed1234);
  const work = Buffer.alloc(4096);
  const pkt: PacketBuffer = { buf: work, off: 0, len: 0 };
  const seen = new Map<string, number>();
  let oks = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const b = all[rnd() % all.length]!;
    const src = b.sealed;
    const off = 64 + (rnd() % 64);
    let len = src.length;
    src.copy(work, off);
    const kind = rnd() % 8;
    if (kind <= 2 || kind === 5) {
      // 1..4 random byte changes.
      const n = 1 + (rnd() % 4);
      for (let k = 0; k < n; k++) {
        const at = rnd() % len;
        const x = 1 + (rnd() % 255);
        work[off + at]! ^= x;
      }
    }
    if (kind === 3 || kind === 5) len = rnd() % len; // truncated
    if (kind === 4) {
      // Extended with garbage: bytes past the IP length are ignored.
      const extra = 1 + (rnd() % 100);
      for (let k = 0; k < extra; k++) work[off + len + k] = rnd() & 0xff;
      len += extra;
    }
    if (kind === 6) {
      // Random bytes behind a plausible first byte.
      len = rnd() % 300;
      for (let k = 0; k < len; k++) work[off + k] = rnd() & 0xff;
      if (len > 0) work[off] = [0x45, 0x46, 0x4f, 0x60, 0x00][rnd() % 5]!;
    }
    if (kind === 7) {
      // Extreme values in the length-like fields: IP length, IHL / payload length, AH payload length.
      const v4 = src[0]! >> 4 === 4;
      const pick = rnd() % 3;
      const val = [0, 1, 0xff, 0x7f, 5][rnd() % 5]!;
      const at = pick === 0 ? (v4 ? 2 : 4) : pick === 1 ? (v4 ? 0 : 5) : (v4 ? 20 : 40) + 1;
      work[off + at] = val;
    }
    pkt.off = off;
    pkt.len = len;
    const sent = Buffer.from(work.subarray(off, off + len));
    let r: string;
    try {
      r = b.inb.open(pkt);
    } catch (e) {
      assert.fail(`open threw on ${b.name} (kind ${kind}): ${String(e)}`);
    }
    assert.ok(ALLOWED.has(r), r);
    assert.notEqual(r, 'internal', `${b.name} kind ${kind}`);
    seen.set(r, (seen.get(r) ?? 0) + 1);
    if (r === 'ok') {
      oks++;
      assert.ok(kind !== 3 && kind !== 5 && kind !== 6, `${b.name}: truncated or random packet opened (kind ${kind})`);
      assert.ok(sent.length >= src.length);
      for (let j = 0; j < src.length; j++) {
        const changed = (sent[j]! ^ src[j]!) & ~b.mask[j]!;
        assert.equal(changed, 0, `${b.name}: protected byte ${j} changed and still opened (kind ${kind})`);
      }
    }
  }
  let drops = 0;
  let packets = 0;
  for (const b of all) {
    drops += totalDrops(b.inb.counters.drops);
    packets += b.inb.counters.packets;
    assert.equal(b.inb.counters.drops.internal, 0);
  }
  assert.equal(packets, oks);
  assert.equal(drops, ITERATIONS - oks);
  t.diagnostic(`results: ${JSON.stringify(Object.fromEntries(seen))}`);
  for (const reason of ['short', 'malformed', 'icv', 'noSa'])
    assert.ok((seen.get(reason) ?? 0) > 100, `${reason}: ${seen.get(reason)}`);
});
