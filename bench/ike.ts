/**
 * IKE_SA + first CHILD_SA establishments per second between two in-process engines (IKE_SA_INIT and
 * IKE_AUTH with PSK, four messages, encoding, SK protection and key derivation on both sides), per key
 * exchange method; then the CPU cost of one responder key exchange (key pair and shared secret) per group, beside
 * the estimate the responder's key exchange budget uses (src/ike/ke-budget.ts). Prints figures; asserts nothing.
 * Run: node dist/bench/ike.js   (IKE_BENCH_MS=<CPU ms per row>, default 2000)
 */
import { createKeyExchange, nodeRng } from '../src/crypto/index.js';
import { KeGroup } from '../src/crypto/ids.js';
import { keCostMs } from '../src/ike/ke-budget.js';
import { childConfig, connectionConfig } from '../src/ike/config.js';
import { IkeEngine } from '../src/ike/engine.js';
import type { Endpoint } from '../src/ike/events.js';

const ROW_MS = Number(process.env['IKE_BENCH_MS'] ?? 2000);
const PSK = Buffer.from('benchmark pre-shared key');
const A: Endpoint = { address: '192.0.2.1', port: 500 };
const B: Endpoint = { address: '198.51.100.1', port: 500 };

/** CPU time (user + system) of this process in ms; the machine is shared. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function engine(local: string, remote: string, localTs: string, remoteTs: string, ike: string): IkeEngine {
  return new IkeEngine({
    connections: [
      connectionConfig({
        name: 'bench',
        localId: { type: 'fqdn', value: local },
        remoteId: { type: 'fqdn', value: remote },
        proposals: [ike],
        sendInitialContact: false,
        children: [childConfig({ name: 'net', proposals: ['aes128gcm16'], localTs: [localTs], remoteTs: [remoteTs] })],
      }),
    ],
    psk: () => PSK,
    rng: nodeRng,
    cookieThreshold: 1_000_000,
  });
}

function engines(ike: string): [IkeEngine, IkeEngine] {
  return [
    engine('moon.example.org', 'sun.example.org', '198.51.100.0/24', '203.0.113.0/24', ike),
    engine('sun.example.org', 'moon.example.org', '203.0.113.0/24', '198.51.100.0/24', ike),
  ];
}

/** One full establishment; returns true when both sides installed the CHILD_SA. */
function establish(i: IkeEngine, r: IkeEngine, now: number): boolean {
  const id = i.initiate('bench', A, B, now);
  let installed = 0;
  for (let round = 0; round < 8; round++) {
    const fromI = i.datagramsToSend();
    const fromR = r.datagramsToSend();
    if (fromI.length === 0 && fromR.length === 0) break;
    for (const d of fromI) r.receiveDatagram(d.bytes, d.from, d.to, now);
    for (const d of fromR) i.receiveDatagram(d.bytes, d.from, d.to, now);
  }
  for (const e of [i, r]) for (let ev; (ev = e.nextEvent());) if (ev.type === 'childSaInstalled') installed++;
  void id;
  return installed === 2;
}

function row(name: string, ike: string): void {
  const [i, r] = engines(ike);
  let now = 1_000_000;
  for (let w = 0; w < 3; w++) if (!establish(i, r, now)) throw new Error(`${name}: establishment failed`);
  let n = 0;
  const start = cpuMs();
  while (cpuMs() - start < ROW_MS) {
    now += 1;
    // Fresh engines each time, so the figure does not include growing SA tables.
    const [a, b] = engines(ike);
    if (!establish(a, b, now)) throw new Error(`${name}: establishment failed`);
    n++;
  }
  const sec = (cpuMs() - start) / 1000;
  console.log(
    `${name.padEnd(10)} ${ike.padEnd(34)} ${(n / sec).toFixed(1).padStart(8)} IKE_SA+CHILD_SA/s per CPU core (${n} in ${sec.toFixed(2)} s)`,
  );
}

console.log(`IKEv2 establishments between two in-process engines (both sides' work), Node ${process.version}`);
row('x25519', 'aes128gcm16-prfsha256-x25519');
row('ecp256', 'aes128gcm16-prfsha256-ecp256');
row('modp3072', 'aes128gcm16-prfsha256-modp3072');

/** One responder key exchange: a key pair and the shared secret with the peer's public value. */
function keRow(name: string, group: number): void {
  const peer = createKeyExchange(group, nodeRng);
  let n = 0;
  const start = cpuMs();
  while (cpuMs() - start < Math.min(ROW_MS, 1000)) {
    createKeyExchange(group, nodeRng).computeSharedSecret(peer.publicKey);
    n++;
  }
  const ms = (cpuMs() - start) / n;
  console.log(
    `${name.padEnd(10)} ${ms.toFixed(3).padStart(8)} ms CPU per responder key exchange, budget estimate ${keCostMs(group)} ms`,
  );
}

console.log('\nKey exchange cost (the responder part of IKE_SA_INIT)');
keRow('x25519', KeGroup.CURVE25519);
keRow('x448', KeGroup.CURVE448);
keRow('ecp256', KeGroup.ECP_256);
keRow('ecp384', KeGroup.ECP_384);
keRow('modp2048', KeGroup.MODP_2048);
keRow('modp3072', KeGroup.MODP_3072);
keRow('modp4096', KeGroup.MODP_4096);
