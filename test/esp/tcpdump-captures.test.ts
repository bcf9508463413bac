/**
 * Real ESP captures from tcpdump's test suite (test/vectors/files/tcpdump, keys in esp-secrets.txt and
 * tcpdump-ipsec.json). The authentication keys were never published, so these SAs use a test-only integrity
 * stand-in that accepts any 12-byte ICV (helpers.ts `unverifiedIntegrity`): only decryption, padding, replay
 * and tunnel-mode decapsulation are exercised. Every decrypted packet, printed the way tcpdump prints it,
 * must equal the line of tcpdump's expected output (esp1.out, esp2.out, esp5.out), and its bytes must equal
 * the independently decrypted bytes in tcpdump-ipsec.json.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { hex, loadVectors, vectorPath } from '../helpers/vectors.js';
import { readPcap } from '../helpers/pcap.js';
import { EncrId, createCipher } from '../../src/crypto/index.js';
import { EspInboundSa } from '../../src/esp/index.js';
import { classifyNatTPayload } from '../../src/common/nat-t.js';
import { IpProto, formatIpAddress, newIpInfo, parseIpHeader, readU16, readU32 } from '../../src/common/ip.js';
import { packetFrom } from '../../src/common/packet-buffer.js';
import { flipByte, unverifiedIntegrity } from './helpers.js';

const DIR = 'files/tcpdump/';
const ICV_96 = 12;

interface SaKey {
  spi: number;
  dst: string;
  encrId: number;
  key: Buffer;
}

/** Parse tcpdump's `spi@dst algo-hmac96:0xkey` secrets lines. */
function parseSecrets(text: string): SaKey[] {
  const out: SaKey[] = [];
  for (const line of text.split('\n')) {
    const m = /^0x([0-9a-f]+)@(\S+)\s+(3des-cbc|aes256-cbc)-hmac96:0x([0-9a-f]+)/i.exec(line.trim());
    if (m === null) continue;
    const [, spi = '', dst = '', algo = '', key = ''] = m;
    out.push({
      spi: parseInt(spi, 16),
      dst,
      encrId: algo === '3des-cbc' ? EncrId.ENCR_3DES : EncrId.ENCR_AES_CBC,
      key: hex(key),
    });
  }
  return out;
}

/** Expected tcpdump lines without the frame number and timestamp. */
function expectedLines(name: string): string[] {
  return readFileSync(vectorPath(DIR + name), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.replace(/^\s*\d+\s+\S+\s+\S+\s+/, ''));
}

type Sad = Map<string, EspInboundSa>;

function sadOf(keys: SaKey[]): Sad {
  const sad: Sad = new Map();
  for (const k of keys) {
    sad.set(
      `${k.spi}@${k.dst}`,
      new EspInboundSa({
        spi: k.spi,
        mode: 'tunnel',
        esn: false,
        replayWindow: 32,
        transform: { cipher: createCipher(k.encrId, k.key), integrity: unverifiedIntegrity(ICV_96) },
      }),
    );
  }
  return sad;
}

/**
 * Print an IPv4 packet the way tcpdump's default output does for these captures, decrypting ESP layers
 * with the SAs in `sad`; the decrypted inner packets are pushed to `inner`.
 */
function printIp(buf: Buffer, off: number, end: number, sad: Sad, inner: Buffer[]): string {
  const info = newIpInfo();
  assert.ok(parseIpHeader(buf, off, end, info), 'IP header');
  const src = formatIpAddress(buf, info.srcOffset, info.addressLength);
  const dst = formatIpAddress(buf, info.dstOffset, info.addressLength);
  const l4 = off + info.headerLength;
  const l4Len = info.totalLength - info.headerLength;
  if (info.protocol === IpProto.ESP) {
    const spi = readU32(buf, l4);
    const seq = readU32(buf, l4 + 4);
    let line = `IP ${src} > ${dst}: ESP(spi=0x${spi.toString(16).padStart(8, '0')},seq=0x${seq.toString(16)}), length ${l4Len}`;
    const sa = sad.get(`${spi}@${dst}`);
    if (sa !== undefined) {
      const pkt = packetFrom(buf.subarray(l4, off + info.totalLength));
      const r = sa.open(pkt);
      assert.equal(r, 'ok', `open spi 0x${spi.toString(16)} seq ${seq}`);
      const bytes = Buffer.from(pkt.buf.subarray(pkt.off, pkt.off + pkt.len));
      inner.push(bytes);
      line += ': ' + printIp(bytes, 0, bytes.length, sad, inner);
    }
    return line;
  }
  if (info.protocol === IpProto.ICMP && buf[l4] === 8) {
    return `IP ${src} > ${dst}: ICMP echo request, id ${readU16(buf, l4 + 4)}, seq ${readU16(buf, l4 + 6)}, length ${l4Len}`;
  }
  return `IP ${src} > ${dst}: protocol ${info.protocol}, length ${l4Len}`;
}

interface TcpdumpJson {
  esp_captures: {
    capture: string;
    security_associations: { spi: string; dst: string; cipher: string; key: string }[];
    frames_detail: { frame: number; esp_layers: { decrypted: string; pad_length: number | string }[] }[];
  }[];
}

const json = loadVectors<TcpdumpJson>('tcpdump-ipsec.json');
const secrets = parseSecrets(readFileSync(vectorPath(DIR + 'esp-secrets.txt'), 'utf8'));

/** The key tcpdump's esp1 test passes on its command line (recorded in tcpdump-ipsec.json). */
function esp1Keys(): SaKey[] {
  const c = json.esp_captures.find((x) => x.capture === '02-sunrise-sunset-esp.pcap');
  assert.ok(c);
  return c.security_associations.map((s) => ({
    spi: parseInt(s.spi, 16),
    dst: s.dst,
    encrId: EncrId.ENCR_3DES,
    key: hex(s.key),
  }));
}

const cases = [
  { capture: '02-sunrise-sunset-esp.pcap', out: 'esp1.out', keys: esp1Keys, layers: 1 },
  { capture: '08-sunrise-sunset-esp2.pcap', out: 'esp2.out', keys: () => secrets, layers: 2 },
  { capture: '08-sunrise-sunset-aes.pcap', out: 'esp5.out', keys: () => secrets, layers: 1 },
];

/** Decrypt a whole capture and compare with tcpdump's output and the JSON's decrypted bytes. */
function checkCapture(frames: Buffer[], ipOffsets: number[], keys: SaKey[], lines: string[], capture: string): void {
  const sad = sadOf(keys);
  const detail = json.esp_captures.find((x) => x.capture === capture)?.frames_detail ?? [];
  assert.equal(frames.length, lines.length);
  for (let i = 0; i < frames.length; i++) {
    const data = frames[i] ?? Buffer.alloc(0);
    const inner: Buffer[] = [];
    assert.equal(printIp(data, ipOffsets[i] ?? 0, data.length, sad, inner), lines[i], `frame ${i + 1}`);
    const d = detail.find((x) => x.frame === i + 1);
    if (d !== undefined) {
      assert.equal(inner.length, d.esp_layers.length);
      d.esp_layers.forEach((layer, j) => {
        const decrypted = hex(layer.decrypted);
        const payloadLength = decrypted.length - Number(layer.pad_length) - 2;
        assert.deepEqual(inner[j], decrypted.subarray(0, payloadLength), `frame ${i + 1} layer ${j + 1} bytes`);
      });
    }
  }
}

/** Whether the outer or a nested ESP header of the first frame carries `spi` (keys of other captures are skipped). */
function pcapUsesSpi(frames: Buffer[], offsets: number[], spi: number): boolean {
  const f = frames[0] ?? Buffer.alloc(0);
  const o = offsets[0] ?? 0;
  return readU32(f, o + 20) === spi || (spi === 0xabcdabcd && readU32(f, o + 20) === 0x12345678);
}

for (const c of cases) {
  test(`tcpdump ${c.capture} decrypts to what ${c.out} prints`, () => {
    const pcap = readPcap(vectorPath(DIR + c.capture));
    const lines = expectedLines(c.out);
    const frames = pcap.packets.map((p) => p.data);
    const offsets = pcap.packets.map((p) => p.ipOffset);
    checkCapture(frames, offsets, c.keys(), lines, c.capture);

    // Mutation check: one changed byte of a frame's ciphertext, of a key, or of the expected text fails.
    const f0 = frames[0] ?? Buffer.alloc(0);
    const o0 = offsets[0] ?? 0;
    const mutatedFrame = flipByte(f0, o0 + 20 + 8 + 16 + 3);
    assert.throws(() => checkCapture([mutatedFrame, ...frames.slice(1)], offsets, c.keys(), lines, c.capture));
    const keys = c.keys();
    for (let i = 0; i < keys.length; i++) {
      const badKeys = keys.map((k, j) => (j === i ? { ...k, key: flipByte(k.key, 5) } : k));
      const used = pcapUsesSpi(frames, offsets, keys[i]?.spi ?? 0);
      if (used) assert.throws(() => checkCapture(frames, offsets, badKeys, lines, c.capture), `key ${i}`);
    }
    const badLines = [...lines];
    badLines[3] = (badLines[3] ?? '').replace('length 64', 'length 65');
    assert.throws(() => checkCapture(frames, offsets, c.keys(), badLines, c.capture));
  });
}

test('tcpdump espudp1.pcap: ESP-in-UDP; the esp-secrets.txt key does not decrypt it, the esp1 key does', () => {
  // tcpdump's expected output for this capture shows [|esp]: it decrypts with the esp-secrets.txt key for
  // 0x12345678@192.1.2.45, which does not fit. The key tcpdump's esp1 test passes on its command line does.
  const pcap = readPcap(vectorPath(DIR + 'espudp1.pcap'));
  assert.equal(pcap.packets.length, 8);
  const secretsKey = secrets.find((k) => k.spi === 0x12345678 && k.dst === '192.1.2.45');
  const [esp1Key] = esp1Keys();
  assert.ok(secretsKey && esp1Key);
  let n = 0;
  for (const p of pcap.packets) {
    const ip = p.ipOffset;
    assert.equal(p.data[ip + 9], IpProto.UDP);
    const udp = ip + ((p.data[ip] ?? 0) & 0x0f) * 4;
    assert.equal(readU16(p.data, udp + 2), 4500);
    const payload = p.data.subarray(udp + 8);
    assert.equal(classifyNatTPayload(payload, 0, payload.length), 'esp');
    const bad = sadOf([secretsKey]).get(`${secretsKey.spi}@${secretsKey.dst}`);
    assert.ok(bad);
    const r = bad.open(packetFrom(payload));
    assert.ok(r === 'padding' || r === 'malformed', `dropped as ${r}`);
    const good = sadOf([esp1Key]).get(`${esp1Key.spi}@${esp1Key.dst}`);
    assert.ok(good);
    const pkt = packetFrom(payload);
    assert.equal(good.open(pkt), 'ok');
    const inner = Buffer.from(pkt.buf.subarray(pkt.off, pkt.off + pkt.len));
    n++;
    assert.equal(
      printIp(inner, 0, inner.length, new Map(), []),
      `IP 192.0.2.1 > 192.0.1.1: ICMP echo request, id 28416, seq ${n * 256 + 1024}, length 64`,
    );
  }
});
