/**
 * RFC 7634 Appendix A.2: the IKEv2 example (ChaCha20-Poly1305 in the SK payload). Sealing the vector's
 * Notify with the vector's IV must give the vector's message byte for byte; opening it must give the Notify.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EncrId } from '../../../src/crypto/ids.js';
import type { Rng } from '../../../src/crypto/types.js';
import { NotifyType, PayloadType } from '../../../src/ike/codec/index.js';
import type { IkeHeader, Payload } from '../../../src/ike/codec/index.js';
import { createSkCrypter } from '../../../src/ike/protection/index.js';
import { hex, loadVectors } from '../../helpers/vectors.js';

interface Example {
  keymat: string;
  spi_i: string;
  spi_r: string;
  exchange_type: number;
  flags: string;
  message_id: string;
  iv: string;
  plaintext: string;
  ike_message: string;
}
const v = loadVectors<{ ikev2_example: Example }>('rfc7634.json').ikev2_example;

/** An Rng that hands out the given bytes (the vector's IV) once. */
function fixedRng(bytes: Buffer): Rng {
  let used = false;
  const fill = (out: Uint8Array): void => {
    assert.equal(used, false, 'the IV is drawn once');
    assert.equal(out.length, bytes.length);
    out.set(bytes);
    used = true;
  };
  return {
    fill,
    bytes(n) {
      const b = Buffer.alloc(n);
      fill(b);
      return b;
    },
  };
}

const header: IkeHeader = {
  spiI: hex(v.spi_i),
  spiR: hex(v.spi_r),
  nextPayload: 0,
  majorVersion: 2,
  minorVersion: 0,
  exchangeType: v.exchange_type,
  flags: { initiator: false, response: false, version: false },
  messageId: hex(v.message_id).readUInt32BE(0),
  length: 0,
};
// The plaintext is one Notify (length 12) then Pad Length 0: SET_WINDOW_SIZE with the value 10.
const notify: Payload = {
  type: PayloadType.NOTIFY,
  protocolId: 0,
  spi: Buffer.alloc(0),
  notifyType: NotifyType.SET_WINDOW_SIZE,
  data: hex('0000000a'),
};

test('RFC 7634 A.2: seal with the vector IV gives the vector message', () => {
  assert.equal(hex(v.flags)[0], 0);
  const c = createSkCrypter({ encrId: EncrId.ENCR_CHACHA20_POLY1305, skE: hex(v.keymat) }, fixedRng(hex(v.iv)));
  const sealed = c.seal(header, [notify]);
  assert.equal(sealed.toString('hex'), v.ike_message);
  assert.equal(c.sealedLength(12, false), sealed.length);
});

test('RFC 7634 A.2: open gives the Notify and the plaintext without its Pad Length', () => {
  const c = createSkCrypter({ encrId: EncrId.ENCR_CHACHA20_POLY1305, skE: hex(v.keymat) }, fixedRng(hex(v.iv)));
  const r = c.open(hex(v.ike_message));
  assert.ok(r.ok, r.ok ? '' : r.detail);
  assert.deepStrictEqual(r.payloads, [notify]);
  assert.equal(r.firstPayload, PayloadType.NOTIFY);
  assert.equal(r.plaintext.toString('hex'), v.plaintext.slice(0, -2));
  assert.deepStrictEqual(r.outerPayloads, []);
  assert.equal(r.header.messageId, 9);
});

test('RFC 7634 A.2: changing any one byte of the message makes open fail', () => {
  const c = createSkCrypter({ encrId: EncrId.ENCR_CHACHA20_POLY1305, skE: hex(v.keymat) }, fixedRng(hex(v.iv)));
  const msg = hex(v.ike_message);
  for (let i = 0; i < msg.length; i++) {
    const bad = Buffer.from(msg);
    bad[i] = (bad[i] ?? 0) ^ 0x01;
    const r = c.open(bad);
    assert.equal(r.ok, false, `byte ${i}`);
  }
  // And a one-byte change of the key.
  const key = hex(v.keymat);
  key[0] = (key[0] ?? 0) ^ 0x80;
  const other = createSkCrypter({ encrId: EncrId.ENCR_CHACHA20_POLY1305, skE: key }, fixedRng(hex(v.iv)));
  const r = other.open(msg);
  assert.ok(!r.ok && r.reason === 'integrity');
});
