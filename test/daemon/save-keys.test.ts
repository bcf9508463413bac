/**
 * Wireshark key tables (src/daemon/save-keys.ts): every line compared with a hand-written expected line in the
 * layout of strongSwan's save-keys plugin and Wireshark 4.0's table names; the file writer (mode 0600, atomic
 * rewrite, deleted SAs kept); and, when tshark is installed, tshark itself decrypting ESP packets sealed by
 * src/esp/ with the keys from our esp_sa file, checking the ICV, and loading our ikev2_decryption_table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { toolSkip } from '../helpers/prerequisites.js';
import { EncrId, IntegId, createTestRng } from '../../src/crypto/index.js';
import { EspOutboundSa, createEspTransform } from '../../src/esp/index.js';
import { packetFrom } from '../../src/common/packet-buffer.js';
import { setIpv4HeaderChecksum, transportChecksum, writeU16 } from '../../src/common/ip.js';
import type { ChildSaInfo } from '../../src/ike/events.js';
import { ExchangeType, PayloadType } from '../../src/ike/codec/constants.js';
import type { IkeHeader, Payload } from '../../src/ike/codec/types.js';
import { createSkCrypter } from '../../src/ike/protection/index.js';
import {
  ESP_SA_FILE,
  IKEV2_TABLE_FILE,
  SaveKeysError,
  SaveKeysFiles,
  espSaFile,
  espSaLine,
  espSasOfChild,
  ikeSaOfKeys,
  ikev2TableLine,
} from '../../src/daemon/save-keys.js';
import type { SaveKeysEspSa, SaveKeysIkeSa } from '../../src/daemon/save-keys.js';

const K16 = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
const K20 = Buffer.from('000102030405060708090a0b0c0d0e0f10111213', 'hex');
const K32 = Buffer.from('101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f', 'hex');
const K36 = Buffer.concat([K32, Buffer.from('c0c1c2c3', 'hex')]);

function esp(encrId: number, encKey: Buffer, integId: number, integKey: Buffer, spi = 0xc0ffee01): SaveKeysEspSa {
  return { src: '192.0.2.1', dst: '198.51.100.2', spi, encrId, encKey, integId, integKey };
}

test('esp_sa: AES-GCM ICV 8/12/16 lines name the ICV and carry key||salt with NULL authentication', () => {
  assert.equal(
    espSaLine(esp(EncrId.ENCR_AES_GCM_16, K20, IntegId.NONE, Buffer.alloc(0))),
    '"IPv4","192.0.2.1","198.51.100.2","0xc0ffee01","AES-GCM with 16 octet ICV [RFC4106]","0x000102030405060708090a0b0c0d0e0f10111213","NULL","0x"',
  );
  assert.equal(
    espSaLine(esp(EncrId.ENCR_AES_GCM_12, K36, IntegId.NONE, Buffer.alloc(0), 0x100)),
    '"IPv4","192.0.2.1","198.51.100.2","0x00000100","AES-GCM with 12 octet ICV [RFC4106]","0x101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2fc0c1c2c3","NULL","0x"',
  );
  assert.match(
    espSaLine(esp(EncrId.ENCR_AES_GCM_8, K20, IntegId.NONE, Buffer.alloc(0))),
    /"AES-GCM with 8 octet ICV \[RFC4106\]"/,
  );
});

test('esp_sa: AES-CBC, AES-CTR, 3DES and NULL with every HMAC', () => {
  assert.equal(
    espSaLine(esp(EncrId.ENCR_AES_CBC, K16, IntegId.AUTH_HMAC_SHA2_256_128, K32)),
    '"IPv4","192.0.2.1","198.51.100.2","0xc0ffee01","AES-CBC [RFC3602]","0x000102030405060708090a0b0c0d0e0f","HMAC-SHA-256-128 [RFC4868]","0x101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"',
  );
  assert.equal(
    espSaLine(esp(EncrId.ENCR_AES_CTR, K20, IntegId.AUTH_HMAC_SHA1_96, K20)),
    '"IPv4","192.0.2.1","198.51.100.2","0xc0ffee01","AES-CTR [RFC3686]","0x000102030405060708090a0b0c0d0e0f10111213","HMAC-SHA-1-96 [RFC2404]","0x000102030405060708090a0b0c0d0e0f10111213"',
  );
  const names: [number, string][] = [
    [IntegId.AUTH_HMAC_MD5_96, 'HMAC-MD5-96 [RFC2403]'],
    [IntegId.AUTH_HMAC_SHA2_384_192, 'HMAC-SHA-384-192 [RFC4868]'],
    [IntegId.AUTH_HMAC_SHA2_512_256, 'HMAC-SHA-512-256 [RFC4868]'],
    [IntegId.AUTH_AES_XCBC_96, 'ANY 96 bit authentication [no checking]'],
    [IntegId.AUTH_AES_CMAC_96, 'ANY 96 bit authentication [no checking]'],
  ];
  for (const [id, name] of names) {
    const fields = espSaLine(esp(EncrId.ENCR_3DES, Buffer.alloc(24, 7), id, K16)).split(',');
    assert.equal(fields[4], '"TripleDES-CBC [RFC2451]"');
    assert.equal(fields[6], `"${name}"`);
    assert.equal(fields[7], '"0x000102030405060708090a0b0c0d0e0f"');
  }
  assert.equal(
    espSaLine(esp(EncrId.ENCR_NULL, Buffer.alloc(0), IntegId.AUTH_HMAC_SHA2_256_128, K32))
      .split(',')
      .slice(4, 6)
      .join(','),
    '"NULL","0x"',
  );
});

test('esp_sa: IPv6 SAs say IPv6; algorithms Wireshark 4.0 cannot decrypt become comments', () => {
  const v6: SaveKeysEspSa = {
    ...esp(EncrId.ENCR_AES_GCM_16, K20, 0, Buffer.alloc(0)),
    src: '2001:db8::1',
    dst: '2001:db8::2',
  };
  assert.equal(espSaLine(v6).split(',').slice(0, 3).join(','), '"IPv6","2001:db8::1","2001:db8::2"');
  assert.equal(
    espSaLine(esp(EncrId.ENCR_CHACHA20_POLY1305, K36, IntegId.NONE, Buffer.alloc(0))),
    '# IPv4 192.0.2.1 -> 198.51.100.2 SPI 0xc0ffee01: encryption ENCR_CHACHA20_POLY1305 is not decryptable by Wireshark 4.0',
  );
  assert.match(espSaLine(esp(EncrId.ENCR_AES_CCM_16, K20, 0, Buffer.alloc(0))), /^# .*ENCR_AES_CCM_16/);
  assert.match(espSaLine(esp(EncrId.ENCR_NULL_AUTH_AES_GMAC, K20, 0, Buffer.alloc(0))), /^# .*ENCR_NULL_AUTH_AES_GMAC/);
});

function ike(encrId: number, encrKeyBits: number, integId: number, ke: Buffer, ka: Buffer): SaveKeysIkeSa {
  return ikeSaOfKeys(
    Buffer.from('0123456789abcdef', 'hex'),
    Buffer.from('fedcba9876543210', 'hex'),
    { encrId, encrKeyBits, integId },
    { skEi: ke, skEr: Buffer.from(ke).reverse(), skAi: ka, skAr: Buffer.from(ka).reverse() },
  );
}

test('ikev2_decryption_table: SPIs as 16 hex digits, bare hex keys, quoted Wireshark names', () => {
  assert.equal(
    ikev2TableLine(ike(EncrId.ENCR_AES_CBC, 128, IntegId.AUTH_HMAC_SHA2_256_128, K16, K32)),
    '0123456789abcdef,fedcba9876543210,000102030405060708090a0b0c0d0e0f,0f0e0d0c0b0a09080706050403020100,"AES-CBC-128 [RFC3602]",' +
      '101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f,2f2e2d2c2b2a292827262524232221201f1e1d1c1b1a19181716151413121110,"HMAC_SHA2_256_128 [RFC4868]"',
  );
  assert.equal(
    ikev2TableLine(ike(EncrId.ENCR_AES_GCM_16, 256, IntegId.NONE, K36, Buffer.alloc(0))),
    `0123456789abcdef,fedcba9876543210,${K36.toString('hex')},${Buffer.from(K36).reverse().toString('hex')},"AES-GCM-256 with 16 octet ICV [RFC5282]",,,"NONE [RFC4306]"`,
  );
  const fields = (e: number, bits: number, i: number): string[] => ikev2TableLine(ike(e, bits, i, K16, K20)).split(',');
  assert.equal(fields(EncrId.ENCR_AES_CTR, 192, IntegId.AUTH_HMAC_SHA1_96)[4], '"AES-CTR-192 [RFC5930]"');
  assert.equal(fields(EncrId.ENCR_AES_CTR, 192, IntegId.AUTH_HMAC_SHA1_96)[7], '"HMAC_SHA1_96 [RFC2404]"');
  assert.equal(fields(EncrId.ENCR_3DES, 0, IntegId.AUTH_HMAC_SHA2_384_192)[4], '"3DES [RFC2451]"');
  assert.equal(fields(EncrId.ENCR_3DES, 0, IntegId.AUTH_HMAC_SHA2_384_192)[7], '"HMAC_SHA2_384_192 [RFC4868]"');
  assert.equal(fields(EncrId.ENCR_AES_CCM_8, 128, IntegId.NONE)[4], '"AES-CCM-128 with 8 octet ICV [RFC5282]"');
  assert.equal(fields(EncrId.ENCR_AES_GCM_12, 192, IntegId.NONE)[4], '"AES-GCM-192 with 12 octet ICV [RFC5282]"');
  assert.equal(fields(EncrId.ENCR_AES_CBC, 256, IntegId.AUTH_HMAC_SHA2_512_256)[7], '"HMAC_SHA2_512_256 [RFC4868]"');
  assert.equal(fields(EncrId.ENCR_AES_CBC, 256, IntegId.AUTH_HMAC_MD5_96)[7], '"HMAC_MD5_96 [RFC2403]"');
  assert.equal(
    ikev2TableLine(ike(EncrId.ENCR_CHACHA20_POLY1305, 0, IntegId.NONE, K36, Buffer.alloc(0))),
    '# IKE_SA 0123456789abcdef_i fedcba9876543210_r: encryption ENCR_CHACHA20_POLY1305 is not decryptable by Wireshark 4.0',
  );
  assert.match(
    ikev2TableLine(ike(EncrId.ENCR_AES_CBC, 128, IntegId.AUTH_AES_XCBC_96, K16, K16)),
    /^# .*integrity AUTH_AES_XCBC_96/,
  );
  assert.throws(
    () => ikev2TableLine({ ...ike(EncrId.ENCR_AES_CBC, 128, 12, K16, K32), spiI: Buffer.alloc(4) }),
    RangeError,
  );
});

function child(protocol: 'esp' | 'ah'): ChildSaInfo {
  return {
    id: 7,
    ikeSaId: 1,
    name: 'net',
    protocol,
    mode: 'tunnel',
    spiIn: 0xc1000001,
    spiOut: 0xc2000002,
    encrId: EncrId.ENCR_AES_CBC,
    encrKeyBits: 128,
    integId: IntegId.AUTH_HMAC_SHA2_256_128,
    esn: false,
    keysIn: { encr: Buffer.alloc(16, 0x11), integ: Buffer.alloc(32, 0x22) },
    keysOut: { encr: Buffer.alloc(16, 0x33), integ: Buffer.alloc(32, 0x44) },
    tsLocal: [],
    tsRemote: [],
    createdAsInitiator: true,
    local: { address: '192.0.2.1', port: 500 },
    remote: { address: '198.51.100.2', port: 500 },
    encap: false,
    rekeyBytes: 0,
    rekeyPackets: 0,
    lifeBytes: 0,
    lifePackets: 0,
  };
}

test('a CHILD_SA gives one line per direction, each with the keys of the packets it describes', () => {
  const text = espSaFile(espSasOfChild(child('esp')));
  assert.equal(
    text,
    `"IPv4","192.0.2.1","198.51.100.2","0xc2000002","AES-CBC [RFC3602]","0x${'33'.repeat(16)}","HMAC-SHA-256-128 [RFC4868]","0x${'44'.repeat(32)}"\n` +
      `"IPv4","198.51.100.2","192.0.2.1","0xc1000001","AES-CBC [RFC3602]","0x${'11'.repeat(16)}","HMAC-SHA-256-128 [RFC4868]","0x${'22'.repeat(32)}"\n`,
  );
  assert.deepEqual(espSasOfChild(child('ah')), []);
});

test('SaveKeysFiles: 0600 files rewritten atomically as SAs come and go; deleted SAs kept up to the limit', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ts-ipsec-keys-'));
  try {
    const files = new SaveKeysFiles(path.join(dir, 'keys'), { keepDeleted: 1 });
    const espPath = path.join(dir, 'keys', ESP_SA_FILE);
    const ikePath = path.join(dir, 'keys', IKEV2_TABLE_FILE);
    assert.equal(readFileSync(espPath, 'utf8'), '');
    assert.equal(statSync(espPath).mode & 0o777, 0o600);
    assert.equal(statSync(ikePath).mode & 0o777, 0o600);
    const a = esp(EncrId.ENCR_AES_GCM_16, K20, 0, Buffer.alloc(0), 0x1001);
    const b = esp(EncrId.ENCR_AES_GCM_16, K20, 0, Buffer.alloc(0), 0x1002);
    const c = esp(EncrId.ENCR_AES_GCM_16, K20, 0, Buffer.alloc(0), 0x1003);
    files.addChild(1, [a]);
    files.addChild(2, [b]);
    assert.equal(readFileSync(espPath, 'utf8'), espSaFile([a, b]));
    files.removeChild(1);
    assert.equal(readFileSync(espPath, 'utf8'), espSaFile([a, b]), 'one deleted SA is kept');
    files.addChild(3, [c]);
    files.removeChild(2);
    assert.equal(readFileSync(espPath, 'utf8'), espSaFile([b, c]), 'the oldest deleted SA goes first');
    const sa = ike(EncrId.ENCR_AES_CBC, 128, IntegId.AUTH_HMAC_SHA2_256_128, K16, K32);
    files.addIke(5, sa);
    assert.equal(readFileSync(ikePath, 'utf8'), `${ikev2TableLine(sa)}\n`);
    assert.equal(statSync(ikePath).mode & 0o777, 0o600);
    assert.deepEqual(
      readdirSync(path.join(dir, 'keys')).sort(),
      [ESP_SA_FILE, IKEV2_TABLE_FILE],
      'no temporary files left',
    );
    const none = new SaveKeysFiles(path.join(dir, 'none'), { keepDeleted: 0 });
    none.addChild(1, [a]);
    none.removeChild(1);
    assert.equal(readFileSync(path.join(dir, 'none', ESP_SA_FILE), 'utf8'), '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SaveKeysFiles refuses a key directory others can write, a symbolic link, or one of another user', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ts-ipsec-keys-'));
  try {
    const keys = path.join(dir, 'keys');
    mkdirSync(keys, { mode: 0o700 });
    for (const [mode, who] of [
      [0o770, 'its group'],
      [0o777, 'every user'],
      [0o1777, 'every user'],
    ] as const) {
      chmodSync(keys, mode);
      assert.throws(
        () => new SaveKeysFiles(keys),
        (e: unknown) =>
          e instanceof SaveKeysError &&
          e.message.includes(`can be written by ${who}`) &&
          e.message.includes(`chmod 700 ${keys}`),
      );
    }
    assert.deepEqual(readdirSync(keys), [], 'nothing written into a refused directory');
    chmodSync(keys, 0o700);
    const link = path.join(dir, 'link');
    symlinkSync(keys, link);
    assert.throws(() => new SaveKeysFiles(link), /is a symbolic link/);
    const uid = process.geteuid?.() ?? 0;
    assert.throws(() => new SaveKeysFiles(keys, { uid: uid + 1 }), /owned by uid \d+, not by the daemon's user/);
    if (uid === 0) {
      const other = path.join(dir, 'other');
      mkdirSync(other, { mode: 0o700 });
      chownSync(other, 65534, 65534);
      assert.throws(() => new SaveKeysFiles(other), /owned by uid 65534/);
    }
    new SaveKeysFiles(keys);
    assert.deepEqual(readdirSync(keys).sort(), [ESP_SA_FILE, IKEV2_TABLE_FILE]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SaveKeysFiles never writes through a planted link: temporary names are unpredictable and created exclusively', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ts-ipsec-keys-'));
  try {
    const keys = path.join(dir, 'keys');
    mkdirSync(keys, { mode: 0o700 });
    const victim = path.join(dir, 'victim');
    writeFileSync(victim, 'precious\n', { mode: 0o644 });
    // Links at the names a predictable writer would use (pid-based and fixed).
    for (const f of [ESP_SA_FILE, IKEV2_TABLE_FILE])
      for (const name of [`.${f}.${process.pid}.tmp`, `.${f}.tmp`, `${f}.tmp`])
        symlinkSync(victim, path.join(keys, name));
    const files = new SaveKeysFiles(keys);
    files.addChild(1, [esp(EncrId.ENCR_AES_GCM_16, K20, 0, Buffer.alloc(0))]);
    assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
    assert.equal(statSync(victim).mode & 0o777, 0o644);
    assert.match(readFileSync(path.join(keys, ESP_SA_FILE), 'utf8'), /AES-GCM/);
    const left = readdirSync(keys).filter((n) => n.endsWith('.tmp'));
    assert.equal(left.length, 6, 'only the planted links, no temporary file of ours left');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ------------------------------------------------------------------ tshark as the outside reader

const LINKTYPE_RAW = 101;
const TUNNEL_SRC = Buffer.from([192, 0, 2, 1]);
const TUNNEL_DST = Buffer.from([198, 51, 100, 2]);
const INNER_SRC = Buffer.from([203, 0, 113, 1]);
const INNER_DST = Buffer.from([203, 0, 113, 2]);
const UDP_SPORT = 40001;
const UDP_DPORT = 7;
const ICMP_ECHO_ID = 0x4242;
const IKE_PORT = 500;

function pcap(packets: readonly Buffer[]): Buffer {
  const g = Buffer.alloc(24);
  g.writeUInt32LE(0xa1b2c3d4, 0);
  g.writeUInt16LE(2, 4);
  g.writeUInt16LE(4, 6);
  g.writeUInt32LE(65535, 16);
  g.writeUInt32LE(LINKTYPE_RAW, 20);
  const parts: Buffer[] = [g];
  packets.forEach((p, i) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(1_800_000_000 + i, 0);
    r.writeUInt32LE(p.length, 8);
    r.writeUInt32LE(p.length, 12);
    parts.push(r, p);
  });
  return Buffer.concat(parts);
}

/** Inner IPv4 packet: an ICMP echo request (protocol 1) or a UDP datagram (17), checksums filled in. */
function innerPacket(protocol: 1 | 17, seq: number): Buffer {
  const payload = Buffer.from(`ts-ipsec save-keys check ${seq}`.padEnd(40, '.'));
  const l4 = 8 + payload.length;
  const b = Buffer.alloc(20 + l4);
  b[0] = 0x45;
  writeU16(b, 2, b.length);
  writeU16(b, 4, seq);
  b[8] = 64;
  b[9] = protocol;
  INNER_SRC.copy(b, 12);
  INNER_DST.copy(b, 16);
  payload.copy(b, 28);
  if (protocol === 17) {
    writeU16(b, 20, UDP_SPORT);
    writeU16(b, 22, UDP_DPORT);
    writeU16(b, 24, l4);
    b.writeUInt16BE(transportChecksum(b, 12, 16, 4, 17, 20, l4), 26);
  } else {
    b[20] = 8;
    writeU16(b, 24, ICMP_ECHO_ID);
    writeU16(b, 26, seq);
    let sum = 0;
    for (let i = 20; i < b.length; i += 2) sum += (b[i]! << 8) | (b[i + 1] ?? 0);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    writeU16(b, 22, ~sum & 0xffff);
  }
  setIpv4HeaderChecksum(b, 0, 20);
  return b;
}

function flip(b: Uint8Array): Buffer {
  const c = Buffer.from(b);
  c[0] = (c[0] ?? 0) ^ 0x01;
  return c;
}

function sealTunnel(sa: EspOutboundSa, inner: Buffer): Buffer {
  const p = packetFrom(inner);
  assert.equal(sa.seal(p), 'ok');
  return Buffer.from(p.buf.subarray(p.off, p.off + p.len));
}

test(
  'tshark decrypts AES-GCM-128 and AES-CBC+HMAC-SHA256 ESP with our esp_sa file, ICVs good, nothing malformed',
  { skip: toolSkip('tshark') },
  () => {
    const rng = createTestRng('save-keys-tshark');
    const gcm = esp(EncrId.ENCR_AES_GCM_16, rng.bytes(20), IntegId.NONE, Buffer.alloc(0), 0x0000a001);
    const cbc = esp(EncrId.ENCR_AES_CBC, rng.bytes(16), IntegId.AUTH_HMAC_SHA2_256_128, rng.bytes(32), 0x0000b002);
    const packets: Buffer[] = [];
    for (const sa of [gcm, cbc]) {
      const out = new EspOutboundSa({
        spi: sa.spi,
        mode: 'tunnel',
        esn: false,
        transform: createEspTransform({
          encrId: sa.encrId,
          encKey: sa.encKey,
          integId: sa.integId,
          integKey: sa.integKey,
        }),
        output: 'ip',
        tunnel: { src: TUNNEL_SRC, dst: TUNNEL_DST },
        rng,
      });
      packets.push(
        sealTunnel(out, innerPacket(1, 1)),
        sealTunnel(out, innerPacket(17, 2)),
        sealTunnel(out, innerPacket(1, 3)),
      );
    }
    const dir = mkdtempSync(path.join(tmpdir(), 'ts-ipsec-wireshark-'));
    try {
      const conf = path.join(dir, 'conf');
      const files = new SaveKeysFiles(conf);
      // The ChaCha20 SA becomes a comment line: tshark must accept the file with it.
      files.addChild(1, [gcm, esp(EncrId.ENCR_CHACHA20_POLY1305, K36, IntegId.NONE, Buffer.alloc(0), 0xc001), cbc]);
      assert.match(readFileSync(files.espSaPath, 'utf8'), /^# /m);
      files.addIke(3, ike(EncrId.ENCR_CHACHA20_POLY1305, 0, IntegId.NONE, K36, Buffer.alloc(0)));
      files.addIke(1, ike(EncrId.ENCR_AES_GCM_16, 128, IntegId.NONE, K20, Buffer.alloc(0)));
      files.addIke(2, ike(EncrId.ENCR_AES_CBC, 256, IntegId.AUTH_HMAC_SHA2_256_128, K32, K32));
      const capture = path.join(dir, 'esp.pcap');
      writeFileSync(capture, pcap(packets));
      const run = (fields: string[]): { out: string; err: string } => {
        const r = spawnSync(
          'tshark',
          [
            '-n',
            '-r',
            capture,
            '-o',
            'esp.enable_encryption_decode:TRUE',
            '-o',
            'esp.enable_authentication_check:TRUE',
            '-T',
            'fields',
            '-E',
            'separator=|',
            ...fields.flatMap((f) => ['-e', f]),
          ],
          { encoding: 'utf8', timeout: 60_000, env: { ...process.env, WIRESHARK_CONFIG_DIR: conf } },
        );
        // tshark reports a table it cannot load on stderr and carries on; any such line fails the test.
        const err = (r.stderr ?? '')
          .split('\n')
          .filter((l) => l.trim() !== '' && !l.startsWith('Running as user'))
          .join('\n');
        return { out: r.stdout ?? '', err: r.status === 0 ? err : `exit ${r.status}: ${err}` };
      };
      const { out, err } = run([
        'esp.spi',
        'esp.sequence',
        'frame.protocols',
        'icmp.seq',
        'udp.dstport',
        '_ws.expert.message',
        'esp.icv_good',
        'esp.icv_bad',
      ]);
      assert.equal(err, '', err);
      const lines = out.trim().split('\n');
      assert.equal(lines.length, packets.length, out);
      const expected = [
        { spi: gcm.spi, seq: 1, inner: 'icmp' },
        { spi: gcm.spi, seq: 2, inner: 'udp' },
        { spi: gcm.spi, seq: 3, inner: 'icmp' },
        { spi: cbc.spi, seq: 1, inner: 'icmp' },
        { spi: cbc.spi, seq: 2, inner: 'udp' },
        { spi: cbc.spi, seq: 3, inner: 'icmp' },
      ];
      lines.forEach((line, i) => {
        const e = expected[i]!;
        const [spi, seq, protocols, icmpSeq, udpPort, expert, icvGood, icvBad] = line.split('|');
        assert.equal(Number(spi), e.spi, line);
        assert.equal(Number(seq), e.seq, line);
        assert.match(protocols ?? '', new RegExp(`^raw:ip:esp:ip:${e.inner}(:|$)`), line);
        if (e.inner === 'icmp') assert.equal(Number(icmpSeq), e.seq, line);
        else assert.equal(Number(udpPort), UDP_DPORT, line);
        assert.doesNotMatch(protocols ?? '', /malformed/i, line);
        assert.doesNotMatch(expert ?? '', /malformed|incorrect|bad/i, line);
        assert.match(icvBad ?? '', /^(0|False)$/, line);
        assert.match(icvGood ?? '', /^(1|True)$/, `ICV not reported good: ${line}`);
      });
      // Control: with one key byte changed in the table, tshark must report every ICV bad and see no inner packet.
      files.addChild(1, [
        { ...gcm, encKey: flip(gcm.encKey) },
        { ...cbc, integKey: flip(cbc.integKey) },
      ]);
      const wrong = run(['esp.icv_good', 'esp.icv_bad', 'frame.protocols']);
      assert.equal(wrong.err, '', wrong.err);
      const wrongLines = wrong.out.trim().split('\n');
      assert.equal(wrongLines.length, packets.length, wrong.out);
      wrongLines.forEach((line, i) => {
        const [good, bad, protocols] = line.split('|');
        assert.match(good ?? '', /^(0|False)$/, line);
        assert.match(bad ?? '', /^(1|True)$/, line);
        if (i < 3) assert.doesNotMatch(protocols ?? '', /esp:ip:/, line);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

/** An IPv4/UDP 500 datagram around an IKE message (checksum 0: allowed for UDP over IPv4). */
function ikeDatagram(message: Buffer): Buffer {
  const b = Buffer.alloc(28 + message.length);
  b[0] = 0x45;
  writeU16(b, 2, b.length);
  b[8] = 64;
  b[9] = 17;
  TUNNEL_SRC.copy(b, 12);
  TUNNEL_DST.copy(b, 16);
  writeU16(b, 20, IKE_PORT);
  writeU16(b, 22, IKE_PORT);
  writeU16(b, 24, 8 + message.length);
  message.copy(b, 28);
  setIpv4HeaderChecksum(b, 0, 20);
  return b;
}

test(
  'tshark decrypts IKEv2 SK payloads with our ikev2_decryption_table: AES-GCM-128 and AES-CBC-256+HMAC-SHA256, ICVs correct',
  { skip: toolSkip('tshark') },
  () => {
    const rng = createTestRng('save-keys-ike');
    const spiI = [Buffer.from('1111111111111111', 'hex'), Buffer.from('2222222222222222', 'hex')];
    const spiR = [Buffer.from('aaaaaaaaaaaaaaaa', 'hex'), Buffer.from('bbbbbbbbbbbbbbbb', 'hex')];
    const gcm = ikeSaOfKeys(
      spiI[0]!,
      spiR[0]!,
      { encrId: EncrId.ENCR_AES_GCM_16, encrKeyBits: 128, integId: IntegId.NONE },
      {
        skEi: rng.bytes(20),
        skEr: rng.bytes(20),
        skAi: Buffer.alloc(0),
        skAr: Buffer.alloc(0),
      },
    );
    const cbc = ikeSaOfKeys(
      spiI[1]!,
      spiR[1]!,
      { encrId: EncrId.ENCR_AES_CBC, encrKeyBits: 256, integId: IntegId.AUTH_HMAC_SHA2_256_128 },
      { skEi: rng.bytes(32), skEr: rng.bytes(32), skAi: rng.bytes(32), skAr: rng.bytes(32) },
    );
    const nonces = [rng.bytes(16), rng.bytes(24), rng.bytes(32)];
    const header = (sa: SaveKeysIkeSa, initiator: boolean, messageId: number): IkeHeader => ({
      spiI: Buffer.from(sa.spiI),
      spiR: Buffer.from(sa.spiR),
      nextPayload: 0,
      majorVersion: 2,
      minorVersion: 0,
      exchangeType: ExchangeType.INFORMATIONAL,
      flags: { initiator, response: !initiator, version: false },
      messageId,
      length: 0,
    });
    const nonce = (data: Uint8Array): Payload => ({ type: PayloadType.NONCE, data: Buffer.from(data) });
    const messages = [
      // GCM request from the initiator (SK_ei), CBC request from the initiator (SK_ei/SK_ai), CBC response (SK_er/SK_ar).
      createSkCrypter({ encrId: gcm.encrId, skE: gcm.skEi }, rng).seal(header(gcm, true, 2), [nonce(nonces[0]!)]),
      createSkCrypter({ encrId: cbc.encrId, integId: cbc.integId, skE: cbc.skEi, skA: cbc.skAi }, rng).seal(
        header(cbc, true, 3),
        [nonce(nonces[1]!)],
      ),
      createSkCrypter({ encrId: cbc.encrId, integId: cbc.integId, skE: cbc.skEr, skA: cbc.skAr }, rng).seal(
        header(cbc, false, 3),
        [nonce(nonces[2]!)],
      ),
    ];
    const dir = mkdtempSync(path.join(tmpdir(), 'ts-ipsec-wireshark-ike-'));
    try {
      const conf = path.join(dir, 'conf');
      const files = new SaveKeysFiles(conf);
      files.addIke(1, gcm);
      files.addIke(2, cbc);
      const capture = path.join(dir, 'ike.pcap');
      writeFileSync(capture, pcap(messages.map(ikeDatagram)));
      const dissect = (): { packets: string[]; err: string } => {
        const r = spawnSync('tshark', ['-n', '-r', capture, '-T', 'pdml'], {
          encoding: 'utf8',
          timeout: 60_000,
          env: { ...process.env, WIRESHARK_CONFIG_DIR: conf },
        });
        const err = (r.stderr ?? '')
          .split('\n')
          .filter((l) => l.trim() !== '' && !l.startsWith('Running as user'))
          .join('\n');
        return {
          packets: (r.stdout ?? '').split('<packet>').slice(1),
          err: r.status === 0 ? err : `exit ${r.status}: ${err}`,
        };
      };
      const good = dissect();
      assert.equal(good.err, '', good.err);
      assert.equal(good.packets.length, messages.length);
      good.packets.forEach((pdml, i) => {
        const hexNonce = Buffer.from(nonces[i]!).toString('hex');
        assert.match(pdml, new RegExp(`name="isakmp.nonce"[^>]* value="${hexNonce}"`), `packet ${i}: decrypted nonce`);
        assert.match(pdml, /name="isakmp\.enc\.icd" showname="[^"]*\[correct\]"/, `packet ${i}: ICV correct`);
        assert.doesNotMatch(pdml, /malformed|_ws\.expert/i, `packet ${i}`);
      });
      // Control: one changed SK_ai byte must make tshark call the CBC request's checksum incorrect.
      files.addIke(2, { ...cbc, skAi: flip(cbc.skAi) });
      const bad = dissect();
      assert.equal(bad.err, '', bad.err);
      assert.doesNotMatch(bad.packets[1] ?? '', /name="isakmp\.enc\.icd" showname="[^"]*\[correct\]"/);
      assert.match(bad.packets[1] ?? '', /name="isakmp\.enc\.icd" showname="[^"]*incorrect/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
