/**
 * Per-packet crypto cost: seal and open for each AEAD and for AES-CBC + HMAC-SHA-256 at 64, 512 and 1400 bytes,
 * for every available backend, next to one bare crypto.createCipheriv per packet. Prints figures; asserts nothing.
 * Run: node dist/bench/crypto.js   (CRYPTO_BENCH_MS=<ms per row> to change the measuring time, default 100)
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  EncrId,
  IntegId,
  createAead,
  createCipher,
  createIntegrity,
  cryptoBackends,
  nodeBackend,
} from '../src/crypto/index.js';
import type { CryptoBackend } from '../src/crypto/index.js';

const SIZES = [64, 512, 1400] as const;
const ROW_MS = Number(process.env['CRYPTO_BENCH_MS'] ?? 100);
/** ESP header (SPI, sequence number) in front of the IV. */
const ESP_HEADER_LENGTH = 8;

/** CPU time (user + system) of this process in ms: the machine is shared, so wall time would count others' work. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Runs fn in growing batches for about ROW_MS of this process's CPU time after a short warm-up; returns
 * operations per CPU second (one core).
 */
function opsPerSecond(fn: () => void): number {
  for (let i = 0; i < 200; i++) fn();
  let batch = 64;
  let ops = 0;
  const start = cpuMs();
  let elapsed = 0;
  while (elapsed < ROW_MS) {
    for (let i = 0; i < batch; i++) fn();
    ops += batch;
    elapsed = cpuMs() - start;
    if (elapsed < ROW_MS / 4) batch *= 2;
  }
  return (ops * 1000) / elapsed;
}

interface Row {
  readonly what: string;
  readonly backend: string;
  readonly size: number;
  readonly sealPps: number;
  readonly openPps: number;
}

function aeadRow(
  label: string,
  encrId: number,
  keymatLength: number,
  backend: CryptoBackend,
  size: number,
): Row | undefined {
  let aead;
  try {
    aead = createAead(encrId, randomBytes(keymatLength), { backend });
  } catch {
    return undefined;
  }
  const aad = randomBytes(ESP_HEADER_LENGTH);
  const iv = randomBytes(aead.ivLength);
  const packet = Buffer.alloc(ESP_HEADER_LENGTH + aead.ivLength + size + aead.icvLength);
  const payloadOff = ESP_HEADER_LENGTH + aead.ivLength;
  const icvOff = payloadOff + size;
  randomBytes(size).copy(packet, payloadOff);
  const sealPps = opsPerSecond(() => aead.seal(iv, aad, packet, payloadOff, size, packet, icvOff));
  // Open a fixed sealed packet: re-seal before each open so the ICV stays valid after in-place decryption.
  const sealed = Buffer.from(packet);
  const work = Buffer.alloc(packet.length);
  const openWithCopy = opsPerSecond(() => {
    sealed.copy(work);
    if (!aead.open(iv, aad, work, payloadOff, size, work, icvOff)) throw new Error(`${label}: open failed`);
  });
  return { what: label, backend: backend.name, size, sealPps, openPps: openWithCopy };
}

function cbcHmacRow(backend: CryptoBackend, size: number): Row {
  const cipher = createCipher(EncrId.ENCR_AES_CBC, randomBytes(16), { backend });
  const integ = createIntegrity(IntegId.AUTH_HMAC_SHA2_256_128, randomBytes(32), { backend });
  const iv = randomBytes(cipher.ivLength);
  const padded = Math.ceil(size / cipher.blockSize) * cipher.blockSize;
  const packet = Buffer.alloc(ESP_HEADER_LENGTH + cipher.ivLength + padded + integ.icvLength);
  const payloadOff = ESP_HEADER_LENGTH + cipher.ivLength;
  const icvOff = payloadOff + padded;
  const authed = [packet.subarray(0, icvOff)];
  const sealPps = opsPerSecond(() => {
    cipher.encrypt(iv, packet, payloadOff, padded);
    integ.compute(authed, packet, icvOff);
  });
  const sealed = Buffer.from(packet);
  const work = Buffer.alloc(packet.length);
  const workAuthed = [work.subarray(0, icvOff)];
  const openPps = opsPerSecond(() => {
    sealed.copy(work);
    if (!integ.verify(workAuthed, work, icvOff)) throw new Error('cbc+hmac: verify failed');
    cipher.decrypt(iv, work, payloadOff, padded);
  });
  return { what: 'aes128-cbc+sha256', backend: backend.name, size, sealPps, openPps };
}

/** The floor node:crypto puts under every packet: one createCipheriv (AES-128-GCM), nothing else. */
function bareCreateCipherivUs(): number {
  const key = randomBytes(16);
  const nonce = randomBytes(12);
  return 1e6 / opsPerSecond(() => createCipheriv('aes-128-gcm', key, nonce));
}

function fmt(n: number, width: number, digits = 0): string {
  return n.toFixed(digits).padStart(width);
}

function main(): void {
  const backends = cryptoBackends();
  const started = performance.now();
  console.log(
    `node ${process.version}, OpenSSL ${process.versions.openssl}; backends: ${backends.map((b) => b.name).join(', ')}`,
  );
  console.log(`bare crypto.createCipheriv('aes-128-gcm') per packet: ${bareCreateCipherivUs().toFixed(2)} us`);
  console.log('');
  console.log(
    `${'transform'.padEnd(20)}${'backend'.padEnd(9)}${'bytes'.padStart(6)}` +
      `${'seal pkt/s'.padStart(12)}${'seal us'.padStart(9)}${'Gbit/s'.padStart(8)}` +
      `${'open pkt/s'.padStart(12)}${'open us'.padStart(9)}${'Gbit/s'.padStart(8)}`,
  );
  const rows: Row[] = [];
  const aeads = [
    ['aes128gcm16', EncrId.ENCR_AES_GCM_16, 20],
    ['aes256gcm16', EncrId.ENCR_AES_GCM_16, 36],
    ['chacha20poly1305', EncrId.ENCR_CHACHA20_POLY1305, 36],
  ] as const;
  for (const backend of backends) {
    for (const [label, id, keymat] of aeads) {
      for (const size of SIZES) {
        const row = aeadRow(label, id, keymat, backend, size);
        if (row !== undefined) rows.push(row);
        if (row !== undefined) printRow(row);
      }
    }
    if (backend === nodeBackend || backend.createCipher !== undefined) {
      for (const size of SIZES) {
        const row = cbcHmacRow(backend, size);
        rows.push(row);
        printRow(row);
      }
    }
  }
  console.log(
    `\n${rows.length} rows in ${((performance.now() - started) / 1000).toFixed(1)} s wall; rates are per CPU second ` +
      '(one core, this process only); Gbit/s counts payload bytes; open includes copying the sealed packet',
  );
}

function printRow(r: Row): void {
  const gbps = (pps: number): number => (pps * r.size * 8) / 1e9;
  console.log(
    `${r.what.padEnd(20)}${r.backend.padEnd(9)}${fmt(r.size, 6)}` +
      `${fmt(r.sealPps, 12)}${fmt(1e6 / r.sealPps, 9, 2)}${fmt(gbps(r.sealPps), 8, 2)}` +
      `${fmt(r.openPps, 12)}${fmt(1e6 / r.openPps, 9, 2)}${fmt(gbps(r.openPps), 8, 2)}`,
  );
}

main();
