/**
 * EAP conversations between the server and peer state machines (RFC 3748; EAP-MSCHAPv2 as strongSwan and Windows
 * frame it; EAP-MD5): packets on the wire, identifiers, outcomes, MSKs, wrong passwords, a server that cannot prove
 * the password, Nak, and hostile input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError } from '../../src/common/errors.js';
import { createTestRng } from '../../src/crypto/index.js';
import { EapCode, EapType, MsChapV2OpCode } from '../../src/eap/constants.js';
import { decodeMd5 } from '../../src/eap/eap-md5.js';
import { decodeMsChapV2, encodeMsChapV2 } from '../../src/eap/eap-mschapv2.js';
import { decodeEapPacket, encodeEapPacket } from '../../src/eap/eap-packet.js';
import type { EapPacket } from '../../src/eap/eap-packet.js';
import { EapPeer } from '../../src/eap/eap-peer.js';
import type { EapPeerStep } from '../../src/eap/eap-peer.js';
import { EapServer } from '../../src/eap/eap-server.js';
import type { EapServerConfig, EapServerStep } from '../../src/eap/eap-server.js';
import { Prng } from '../ike/codec/prng.js';

const MSCHAPV2 = EapType['EAP-MSCHAP-V2'];
const MD5 = EapType['MD5-Challenge'];
const USERS = new Map([
  ['carol@example.org', 'carol-secret'],
  ['dave', 'Dave secret with spaces'],
]);

function server(o: Partial<EapServerConfig> = {}): EapServer {
  return new EapServer({
    rng: createTestRng('eap-server'),
    methods: [MSCHAPV2],
    password: (id) => USERS.get(id),
    ...o,
  });
}

function peer(identity: string, password: string, methods?: number[]): EapPeer {
  const base = { rng: createTestRng(`eap-peer-${identity}`), identity, password };
  return new EapPeer(methods === undefined ? base : { ...base, methods });
}

interface Run {
  wire: EapPacket[];
  server: EapServerStep;
  peer: EapPeerStep;
}

/** Run a conversation to its end, recording every packet. */
function converse(s: EapServer, p: EapPeer, tamper?: (packet: Buffer, n: number) => Buffer): Run {
  const wire: EapPacket[] = [];
  let sStep = s.start();
  for (let n = 0; n < 20; n++) {
    const toPeer = tamper === undefined ? sStep.packet : tamper(sStep.packet, n);
    wire.push(decodeEapPacket(toPeer));
    const pStep = p.process(toPeer);
    if (sStep.kind !== 'request') return { wire, server: sStep, peer: pStep };
    const answer = pStep.kind === 'response' ? pStep.packet : pStep.kind === 'failure' ? pStep.packet : undefined;
    if (answer === undefined) return { wire, server: sStep, peer: pStep };
    wire.push(decodeEapPacket(answer));
    const next = s.process(answer);
    assert.notEqual(next.kind, 'pending', 'password methods answer at once');
    if (next.kind === 'pending') throw new Error('unreachable');
    sStep = next;
  }
  assert.fail('conversation did not end');
}

function shape(wire: EapPacket[]): string[] {
  return wire.map((x) => {
    const who =
      x.code === EapCode.Request
        ? 'req'
        : x.code === EapCode.Response
          ? 'res'
          : x.code === EapCode.Success
            ? 'SUCCESS'
            : 'FAILURE';
    if (!('type' in x)) return who;
    const op = x.type === MSCHAPV2 ? `/${x.data[0] ?? '?'}` : '';
    return `${who} ${x.type}${op}`;
  });
}

test('EAP-MSCHAPv2 with EAP-Identity: mutual authentication, the same 64-byte MSK on both ends', () => {
  const r = converse(server(), peer('carol@example.org', 'carol-secret'));
  assert.deepEqual(shape(r.wire), [
    'req 1', // EAP-Request/Identity
    'res 1',
    'req 26/1', // Challenge
    'res 26/2', // Response
    'req 26/3', // Success request (S=...)
    'res 26/3', // Success response
    'SUCCESS',
  ]);
  // Identifiers: each request a new one, each response echoes it, EAP-Success that of the last response.
  const ids = r.wire.map((x) => x.identifier);
  for (let i = 0; i < 6; i += 2) assert.equal(ids[i + 1], ids[i]);
  assert.equal(ids[2], ((ids[0] ?? 0) + 1) & 0xff);
  assert.equal(ids[6], ids[5]);
  assert.equal(r.server.kind, 'success');
  assert.equal(r.peer.kind, 'success');
  if (r.server.kind !== 'success' || r.peer.kind !== 'success') return;
  assert.equal(r.server.identity, 'carol@example.org');
  assert.equal(r.server.method, MSCHAPV2);
  assert.equal(r.server.msk?.length, 64);
  assert.deepEqual(r.server.msk, r.peer.msk);
  assert.deepEqual(r.server.msk?.subarray(32), Buffer.alloc(32));
});

test('EAP-MSCHAPv2 framing: MS-Length counts from the OpCode, Value-Size 16 and 49, names, S= message', () => {
  const r = converse(server({ serverName: 'gw.example.org' }), peer('carol@example.org', 'carol-secret'));
  const [, , challenge, response, success, successResponse] = r.wire;
  for (const x of [challenge, response, success]) {
    assert.ok(x !== undefined && 'type' in x);
    const bytes = encodeEapPacket(x);
    assert.equal(x.data.readUInt16BE(2), bytes.length - 5, 'MS-Length = EAP Length - 5');
  }
  assert.ok(challenge && 'type' in challenge && response && 'type' in response && success && 'type' in success);
  const c = decodeMsChapV2(challenge.data, true);
  assert.ok(c.opCode === MsChapV2OpCode.Challenge);
  assert.equal(c.challenge.length, 16);
  assert.equal(c.name.toString(), 'gw.example.org');
  const res = decodeMsChapV2(response.data, false);
  assert.ok(res.opCode === MsChapV2OpCode.Response);
  assert.equal(res.id, c.id, 'the Response echoes the MS-CHAPv2-ID');
  assert.equal(response.data[4], 49);
  assert.deepEqual(response.data.subarray(5 + 16, 5 + 24), Buffer.alloc(8), 'reserved octets');
  assert.equal(res.flags, 0);
  assert.equal(res.name.toString(), 'carol@example.org');
  const s = decodeMsChapV2(success.data, true);
  assert.ok('message' in s);
  assert.match(s.message, /^S=[0-9A-F]{40} M=Welcome$/);
  assert.ok(successResponse && 'type' in successResponse);
  assert.deepEqual(successResponse.data, Buffer.from([MsChapV2OpCode.Success]), 'Success response: the OpCode alone');
});

test('EAP-MSCHAPv2 wrong password: Failure E=691, the peer answers, EAP-Failure; nothing succeeds', () => {
  const r = converse(server(), peer('carol@example.org', 'guess'));
  assert.deepEqual(shape(r.wire), ['req 1', 'res 1', 'req 26/1', 'res 26/2', 'req 26/4', 'res 26/4', 'FAILURE']);
  const failure = r.wire[4];
  assert.ok(failure && 'type' in failure);
  const m = decodeMsChapV2(failure.data, true);
  assert.ok('message' in m);
  assert.match(m.message, /^E=691 R=0 C=[0-9A-F]{32} V=3 M=/);
  assert.equal(r.server.kind, 'failure');
  assert.match(
    r.server.kind === 'failure' ? r.server.reason : '',
    /verification of 'carol@example.org' failed \(wrong password\)/,
  );
  assert.equal(r.peer.kind, 'failure');
  assert.match(r.peer.kind === 'failure' ? r.peer.reason : '', /error 691/);
});

test('EAP-MSCHAPv2 unknown user: refused the same way, the reason names the user', () => {
  const r = converse(server(), peer('mallory@example.org', 'x'));
  assert.equal(r.server.kind, 'failure');
  assert.match(r.server.kind === 'failure' ? r.server.reason : '', /no EAP secret for 'mallory@example.org'/);
});

test('EAP-MSCHAPv2: a DOMAIN\\user identity hashes the bare user name, as Windows does', () => {
  const s = server({ password: (id) => (id === 'EXAMPLE\\dave' ? 'Dave secret with spaces' : undefined) });
  const r = converse(s, peer('EXAMPLE\\dave', 'Dave secret with spaces'));
  assert.equal(r.server.kind, 'success');
  assert.equal(r.peer.kind, 'success');
});

test('EAP-MSCHAPv2: a server that cannot prove the password is refused by the peer (S= checked)', () => {
  const r = converse(server(), peer('carol@example.org', 'carol-secret'), (packet, n) => {
    if (n !== 2) return packet;
    const p = decodeEapPacket(packet);
    assert.ok('type' in p);
    const m = decodeMsChapV2(p.data, true);
    assert.ok('message' in m);
    const forged = encodeMsChapV2({ ...m, message: `S=${'0'.repeat(40)} M=Welcome` });
    return encodeEapPacket({ ...p, data: forged });
  });
  assert.equal(r.peer.kind, 'failure');
  assert.match(r.peer.kind === 'failure' ? r.peer.reason : '', /did not prove/);
});

test('EAP-MSCHAPv2 server: a Success response instead of a Response does not authenticate (CVE-2015-8023)', () => {
  const s = server({ identity: 'carol@example.org' });
  const challenge = decodeEapPacket(s.start().packet);
  const skip = encodeEapPacket({
    code: EapCode.Response,
    identifier: challenge.identifier,
    type: MSCHAPV2,
    data: encodeMsChapV2({ opCode: MsChapV2OpCode.Success, short: true }),
  });
  const r = s.process(skip);
  assert.equal(r.kind, 'failure');
  assert.equal(decodeEapPacket(r.packet).code, EapCode.Failure);
});

test('EAP-Success before the method finished is refused by the peer', () => {
  const p = peer('carol@example.org', 'carol-secret');
  const s = server({ identity: 'carol@example.org' });
  const first = s.start();
  assert.equal(p.process(first.packet).kind, 'response');
  const early = encodeEapPacket({ code: EapCode.Success, identifier: decodeEapPacket(first.packet).identifier });
  const r = p.process(early);
  assert.equal(r.kind, 'failure');
});

test('known identity: no EAP-Identity round', () => {
  const r = converse(server({ identity: 'carol@example.org' }), peer('carol@example.org', 'carol-secret'));
  assert.deepEqual(shape(r.wire).slice(0, 2), ['req 26/1', 'res 26/2']);
  assert.equal(r.server.kind, 'success');
});

test('EAP-MD5: success without an MSK; wrong password refused', () => {
  const ok = converse(server({ methods: [MD5] }), peer('dave', 'Dave secret with spaces', [MD5]));
  assert.deepEqual(shape(ok.wire), ['req 1', 'res 1', 'req 4', 'res 4', 'SUCCESS']);
  const challenge = ok.wire[2];
  assert.ok(challenge && 'type' in challenge);
  assert.equal(decodeMd5(challenge.data).value.length, 16);
  assert.equal(ok.server.kind, 'success');
  assert.equal(ok.server.kind === 'success' ? ok.server.msk : 'x', undefined);
  assert.equal(ok.peer.kind, 'success');
  const bad = converse(server({ methods: [MD5] }), peer('dave', 'wrong', [MD5]));
  assert.deepEqual(shape(bad.wire), ['req 1', 'res 1', 'req 4', 'res 4', 'FAILURE']);
  assert.equal(bad.server.kind, 'failure');
  assert.equal(bad.peer.kind, 'failure');
});

test('Nak: the server proposes EAP-MD5, the peer wants EAP-MSCHAPv2, the server follows', () => {
  const r = converse(server({ methods: [MD5, MSCHAPV2] }), peer('carol@example.org', 'carol-secret', [MSCHAPV2]));
  assert.deepEqual(shape(r.wire).slice(0, 5), ['req 1', 'res 1', 'req 4', 'res 3', 'req 26/1']);
  assert.equal(r.server.kind, 'success');
  const none = converse(server({ methods: [MD5] }), peer('carol@example.org', 'carol-secret', [MSCHAPV2]));
  assert.equal(none.server.kind, 'failure');
  assert.equal(none.peer.kind, 'failure');
});

test('a response with the wrong Identifier ends the conversation', () => {
  const s = server({ identity: 'carol@example.org' });
  const first = decodeEapPacket(s.start().packet);
  const wrong = encodeEapPacket({
    code: EapCode.Response,
    identifier: (first.identifier + 1) & 0xff,
    type: EapType.Nak,
    data: Buffer.from([MD5]),
  });
  const r = s.process(wrong);
  assert.equal(r.kind, 'failure');
  assert.equal(decodeEapPacket(r.packet).code, EapCode.Failure);
});

test('EAP packet codec: header, typed and untyped packets, padding after Length ignored', () => {
  assert.deepEqual(decodeEapPacket(Buffer.from('0207000801636172', 'hex')), {
    code: EapCode.Response,
    identifier: 7,
    type: EapType.Identity,
    data: Buffer.from('car'),
  });
  assert.deepEqual(decodeEapPacket(Buffer.from('03070004ffff', 'hex')), { code: EapCode.Success, identifier: 7 });
  assert.deepEqual(encodeEapPacket({ code: EapCode.Failure, identifier: 9 }), Buffer.from('04090004', 'hex'));
  for (const bad of ['', '010200', '01020004', '03020005aa', '05010004', '02010009016361'])
    assert.throws(() => decodeEapPacket(Buffer.from(bad, 'hex')), ParseError, bad);
});

test('hostile input: decoders give ParseError only; the state machines never throw', () => {
  const r = new Prng(3748);
  const decoders: [string, (b: Buffer) => unknown][] = [
    ['packet', decodeEapPacket],
    ['mschapv2 from server', (b) => decodeMsChapV2(b, true)],
    ['mschapv2 from peer', (b) => decodeMsChapV2(b, false)],
    ['md5', decodeMd5],
  ];
  // Valid packets to mutate: a whole MS-CHAPv2 conversation.
  const seeds = converse(server(), peer('carol@example.org', 'carol-secret')).wire.map((x) => encodeEapPacket(x));
  for (let n = 0; n < 10_000; n++) {
    let b: Buffer;
    if (r.bool()) b = r.bytes(r.int(0, 80));
    else {
      b = Buffer.from(r.pick(seeds));
      for (let k = r.int(1, 3); k > 0; k--) if (b.length > 0) b[r.int(0, b.length - 1)] = r.int(0, 255);
      if (r.bool()) b = b.subarray(0, r.int(0, b.length));
    }
    for (const [name, decode] of decoders) {
      try {
        decode(b);
      } catch (e) {
        if (!(e instanceof ParseError)) assert.fail(`${name}: ${b.toString('hex')}: ${String(e)}`);
      }
    }
    if (n % 20 === 0) {
      const s = server();
      s.start();
      const sr = s.process(b);
      assert.ok(sr.kind === 'request' || sr.kind === 'failure');
      const p = peer('carol@example.org', 'carol-secret');
      const pr = p.process(b);
      assert.ok(pr.kind === 'response' || pr.kind === 'failure' || pr.kind === 'success');
      assert.notEqual(pr.kind, 'success', 'random bytes never authenticate');
    }
  }
});

test('EAP-MSCHAPv2: the server knows a wrong password as soon as the Response comes (failing), not before', () => {
  const s = server();
  const p = peer('carol@example.org', 'guess');
  let req: EapServerStep = s.start();
  assert.equal(s.failing, undefined);
  for (let i = 0; i < 2 && req.kind === 'request'; i++) {
    const answer = p.process(req.packet);
    assert.equal(answer.kind, 'response');
    if (answer.kind !== 'response') return;
    req = s.process(answer.packet);
    if (i === 0) assert.equal(s.failing, undefined, 'not after the identity');
  }
  assert.equal(req.kind, 'request', 'the Failure request still goes out');
  assert.match(s.failing ?? '', /verification of 'carol@example.org' failed \(wrong password\)/);
  const good = server();
  const q = peer('carol@example.org', 'carol-secret');
  let r: EapServerStep = good.start();
  for (let i = 0; i < 2 && r.kind === 'request'; i++) {
    const a = q.process(r.packet);
    if (a.kind !== 'response') break;
    r = good.process(a.packet);
  }
  assert.equal(good.failing, undefined, 'the right password is not failing');
});
