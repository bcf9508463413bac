/**
 * tcpdump's ikev2pI2.pcap, frame 2: an IKE_AUTH request protected with AES-128-CBC and HMAC-SHA1-96, keys
 * published in ikev2pI2-secrets.txt. Its ICV was computed over IV || ciphertext only (an Openswan-era bug,
 * see test/vectors/README.md), so a correct open must reject it; decrypting without the check must give
 * the payloads tcpdump printed in ikev2pI2.out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { EncrId, IntegId } from '../../../src/crypto/ids.js';
import { nodeRng } from '../../../src/crypto/index.js';
import { PayloadType, decodeMessage, encodedLengthPayload } from '../../../src/ike/codec/index.js';
import { createSkCrypter } from '../../../src/ike/protection/index.js';
import { hex, vectorPath } from '../../helpers/vectors.js';
import { dissectPayloads } from '../codec/dissect.js';
import { ikeMessagesFromPcap, readDump } from '../codec/ike-pcap.js';

interface Secret {
  spiI: string;
  spiR: string;
  skA: Buffer;
  skE: Buffer;
}

/** "ikev2 I|R 0xSPIi 0xSPIr sha1:0xSK_a aes128:0xSK_e" lines. */
function secrets(): Record<string, Secret> {
  const out: Record<string, Secret> = {};
  const text = readFileSync(vectorPath('files/tcpdump/ikev2pI2-secrets.txt'), 'utf8');
  for (const line of text.split('\n')) {
    const m = /^ikev2 ([IR]) 0x([0-9a-f]{16}) 0x([0-9a-f]{16}) sha1:0x([0-9a-f]+) aes128:0x([0-9a-f]+)/.exec(line);
    if (m === null) continue;
    out[m[1] ?? ''] = { spiI: m[2] ?? '', spiR: m[3] ?? '', skA: hex(m[4] ?? ''), skE: hex(m[5] ?? '') };
  }
  return out;
}

const ICV_LENGTH = 12;
const IV_LENGTH = 16;
const SK_BODY_OFFSET = 28 + 4;

function setup(): { msg: Buffer; key: Secret } {
  const msg = ikeMessagesFromPcap('ikev2pI2.pcap')[1];
  const key = secrets().I;
  assert.ok(msg !== undefined && key !== undefined);
  const h = decodeMessage(msg).header;
  assert.equal(h.spiI.toString('hex'), key.spiI);
  assert.equal(h.spiR.toString('hex'), key.spiR);
  assert.ok(h.flags.initiator);
  return { msg, key };
}

test('ikev2pI2 frame 2: open rejects it on integrity', () => {
  const { msg, key } = setup();
  const c = createSkCrypter(
    { encrId: EncrId.ENCR_AES_CBC, integId: IntegId.AUTH_HMAC_SHA1_96, skE: key.skE, skA: key.skA },
    nodeRng,
  );
  const r = c.open(msg);
  assert.deepStrictEqual(r, { ok: false, reason: 'integrity', detail: 'ICV mismatch' });
});

test('ikev2pI2 frame 2: its ICV is HMAC-SHA1-96 over IV || ciphertext, not over the message (the README caveat)', () => {
  const { msg, key } = setup();
  const icv = msg.subarray(msg.length - ICV_LENGTH);
  const oldWay = createHmac('sha1', key.skA)
    .update(msg.subarray(SK_BODY_OFFSET, msg.length - ICV_LENGTH))
    .digest();
  const rfcWay = createHmac('sha1', key.skA)
    .update(msg.subarray(0, msg.length - ICV_LENGTH))
    .digest();
  assert.equal(oldWay.subarray(0, ICV_LENGTH).toString('hex'), icv.toString('hex'));
  assert.notEqual(rfcWay.subarray(0, ICV_LENGTH).toString('hex'), icv.toString('hex'));
});

test('ikev2pI2 frame 2: decrypting without the check gives the payloads tcpdump printed', () => {
  const { msg, key } = setup();
  const c = createSkCrypter(
    { encrId: EncrId.ENCR_AES_CBC, integId: IntegId.AUTH_HMAC_SHA1_96, skE: key.skE, skA: key.skA },
    nodeRng,
  );
  const r = c.decryptUnverified(msg);
  assert.ok(r.ok, r.ok ? '' : r.detail);
  assert.equal(r.firstPayload, PayloadType.IDi);
  const frame = readDump('ikev2pI2.out')[1];
  assert.ok(frame !== undefined);
  const bodyLength = (p: Parameters<typeof encodedLengthPayload>[0]): number => encodedLengthPayload(p) - 4;
  const outer = dissectPayloads(decodeMessage(msg).payloads, bodyLength);
  const inner = dissectPayloads(r.payloads, bodyLength);
  assert.deepStrictEqual([...outer, ...inner], frame.lines);
  assert.equal(
    msg.subarray(SK_BODY_OFFSET, SK_BODY_OFFSET + IV_LENGTH).toString('hex'),
    '000102030405060708090a0b0c0d0e0f',
  );
});

test('ikev2pI2 frame 2: any changed byte of IV, ciphertext or ICV breaks its ICV; almost all change the dissection', () => {
  const { msg, key } = setup();
  const c = createSkCrypter(
    { encrId: EncrId.ENCR_AES_CBC, integId: IntegId.AUTH_HMAC_SHA1_96, skE: key.skE, skA: key.skA },
    nodeRng,
  );
  const frame = readDump('ikev2pI2.out')[1];
  assert.ok(frame !== undefined);
  const expected = frame.lines.slice(1);
  const bodyLength = (p: Parameters<typeof encodedLengthPayload>[0]): number => encodedLengthPayload(p) - 4;
  const icvOff = msg.length - ICV_LENGTH;
  let sameDissection = 0;
  for (let i = SK_BODY_OFFSET; i < msg.length; i++) {
    const bad = Buffer.from(msg);
    bad[i] = (bad[i] ?? 0) ^ 0x01;
    const mac = createHmac('sha1', key.skA).update(bad.subarray(SK_BODY_OFFSET, icvOff)).digest();
    assert.notEqual(mac.subarray(0, ICV_LENGTH).toString('hex'), bad.subarray(icvOff).toString('hex'), `byte ${i}`);
    const r = c.decryptUnverified(bad);
    if (i < icvOff && r.ok && isDeepStrictEqual(dissectPayloads(r.payloads, bodyLength), expected)) sameDissection++;
  }
  // Only bytes tcpdump does not print (reserved octets, critical bits, padding) keep the dissection.
  assert.ok(sameDissection < 10, `${sameDissection} flips kept the dissection`);
});
