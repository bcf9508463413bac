/** The message rules table (RFC 7296 1.2-1.5) applied by validateMessageRules. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ExchangeType,
  NotifyType,
  PayloadType,
  decodeMessage,
  findMessageRule,
  messageRules,
  validateMessageRules,
} from '../../../src/ike/codec/index.js';
import type { IkeHeader, IkeMessage, Payload } from '../../../src/ike/codec/index.js';
import { ikeMessagesFromPcap } from './ike-pcap.js';

function header(exchangeType: number, response: boolean): IkeHeader {
  return {
    spiI: Buffer.alloc(8, 1),
    spiR: Buffer.alloc(8, 2),
    nextPayload: 0,
    majorVersion: 2,
    minorVersion: 0,
    exchangeType,
    flags: { initiator: !response, response, version: false },
    messageId: 1,
    length: 0,
  };
}

const sa: Payload = { type: PayloadType.SA, proposals: [] };
const ke: Payload = { type: PayloadType.KE, group: 31, data: Buffer.alloc(32) };
const nonce: Payload = { type: PayloadType.NONCE, data: Buffer.alloc(32) };
const notify = (notifyType: number): Payload => ({
  type: PayloadType.NOTIFY,
  protocolId: 0,
  spi: Buffer.alloc(0),
  notifyType,
  data: Buffer.alloc(0),
});
const sk: Payload = { type: PayloadType.SK, firstPayload: PayloadType.IDi, data: Buffer.alloc(48) };
const idi: Payload = { type: PayloadType.IDi, idType: 2, data: Buffer.from('west') };
const auth: Payload = { type: PayloadType.AUTH, method: 2, data: Buffer.alloc(32) };
const tsi: Payload = { type: PayloadType.TSi, selectors: [] };
const tsr: Payload = { type: PayloadType.TSr, selectors: [] };
const del: Payload = { type: PayloadType.DELETE, protocolId: 1, spiSize: 0, spis: [] };

function msg(exchangeType: number, response: boolean, payloads: Payload[]): IkeMessage {
  return { header: header(exchangeType, response), payloads };
}

test('rules: one row per exchange and direction, no duplicates', () => {
  const keys = messageRules.map((r) => `${r.exchangeType}/${r.response}`);
  assert.equal(new Set(keys).size, keys.length);
  for (const x of [
    ExchangeType.IKE_SA_INIT,
    ExchangeType.IKE_AUTH,
    ExchangeType.CREATE_CHILD_SA,
    ExchangeType.INFORMATIONAL,
  ]) {
    assert.ok(findMessageRule(x, false) !== undefined && findMessageRule(x, true) !== undefined);
  }
  assert.equal(findMessageRule(ExchangeType.IKE_SA_INIT, false)?.encrypted, false);
  assert.equal(findMessageRule(ExchangeType.IKE_AUTH, true)?.encrypted, true);
});

test('rules: the captured IKE_SA_INIT messages of ikev2four.pcap are acceptable', () => {
  const [req, cookieResp, req2, resp] = ikeMessagesFromPcap('ikev2four.pcap').map((b) => decodeMessage(b));
  for (const m of [req, cookieResp, req2, resp]) {
    assert.ok(m !== undefined);
    assert.equal(validateMessageRules(m), undefined);
  }
});

test('rules: IKE_SA_INIT request needs SA, KE and Ni exactly once', () => {
  const X = ExchangeType.IKE_SA_INIT;
  assert.equal(
    validateMessageRules(msg(X, false, [sa, ke, nonce, notify(NotifyType.NAT_DETECTION_SOURCE_IP)])),
    undefined,
  );
  assert.deepStrictEqual(validateMessageRules(msg(X, false, [sa, nonce])), {
    notifyType: NotifyType.INVALID_SYNTAX,
    reason: 'KE missing',
    payloadType: PayloadType.KE,
  });
  assert.equal(validateMessageRules(msg(X, false, [sa, ke, ke, nonce]))?.reason, 'too many KE (2)');
  assert.match(validateMessageRules(msg(X, false, [sa, ke, nonce, del]))?.reason ?? '', /DELETE not allowed/);
  assert.match(validateMessageRules(msg(X, false, [sa, ke, nonce, sk]))?.reason ?? '', /unexpected SK/);
  // An error response carries only a notify.
  assert.equal(validateMessageRules(msg(X, true, [notify(NotifyType.INVALID_KE_PAYLOAD)])), undefined);
});

test('rules: encrypted exchanges need SK; inner payloads are checked against the same row', () => {
  const X = ExchangeType.IKE_AUTH;
  assert.match(validateMessageRules(msg(X, false, [idi, auth]))?.reason ?? '', /not allowed outside SK/);
  assert.match(validateMessageRules(msg(X, false, []))?.reason ?? '', /must be encrypted/);
  const outer = msg(X, false, [sk]);
  assert.equal(validateMessageRules(outer), undefined);
  assert.equal(validateMessageRules(outer, [idi, auth, sa, tsi, tsr]), undefined);
  assert.equal(validateMessageRules(outer, [idi, idi, auth])?.reason, 'too many IDi (2)');
  assert.match(validateMessageRules(outer, [idi, sk])?.reason ?? '', /unexpected SK/);
  assert.match(validateMessageRules(outer, [ke])?.reason ?? '', /KE not allowed/);
  const ccsa = msg(ExchangeType.CREATE_CHILD_SA, false, [sk]);
  assert.equal(validateMessageRules(ccsa, [sa, nonce, tsi, tsr]), undefined);
  assert.equal(validateMessageRules(ccsa, [sa, tsi, tsr])?.reason, 'NONCE missing');
  const info = msg(ExchangeType.INFORMATIONAL, true, [sk]);
  assert.equal(validateMessageRules(info, []), undefined);
  assert.equal(validateMessageRules(info, [del, del, notify(NotifyType.INVALID_SPI)]), undefined);
});

test('rules: unknown payloads are skipped unless critical (UNSUPPORTED_CRITICAL_PAYLOAD)', () => {
  const X = ExchangeType.IKE_SA_INIT;
  const unknown = (critical: boolean): Payload => ({
    type: 'unknown',
    payloadType: 222,
    critical,
    data: Buffer.alloc(3),
  });
  assert.equal(validateMessageRules(msg(X, false, [sa, ke, nonce, unknown(false)])), undefined);
  assert.deepStrictEqual(validateMessageRules(msg(X, false, [sa, ke, unknown(true), nonce])), {
    notifyType: NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD,
    reason: 'unknown critical payload type 222',
    payloadType: 222,
  });
  const inner = validateMessageRules(msg(ExchangeType.INFORMATIONAL, false, [sk]), [unknown(true)]);
  assert.equal(inner?.notifyType, NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD);
});

test('rules: an unknown exchange type is reported', () => {
  assert.match(validateMessageRules(msg(99, false, []))?.reason ?? '', /unsupported exchange type UNKNOWN\(99\)/);
});
