/**
 * A bounded burst of IKE_SA_INIT requests from many source addresses, for the flood test (run inside a lab
 * namespace whose `ip route add local PREFIX dev lo` and net.ipv6.ip_nonlocal_bind = 1 let it bind any address of
 * the prefixes).
 *
 *   node ike-flood.js '{"targets":{"4":"192.0.2.129","6":"2001:db8:100::1"},"sources4":{...},"sources6":{...},
 *                       "count":20000,"rate":2000}'
 *
 * The project's own IKE engine builds one genuine IKE_SA_INIT request; each request of the burst is that
 * message with a fresh SPIi and Ni, encoded again by the project's codec. The requests go round-robin over
 * the source addresses (UDP port 500 each), paced at `rate` per second. Responses are decoded and counted
 * (COOKIE notifies, IKE_SA_INIT responses with an SA payload, others). Prints one JSON line at the end.
 */
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { IkeEngine } from '../../src/ike/engine.js';
import { connectionConfig } from '../../src/ike/config.js';
import { NotifyType, PayloadType } from '../../src/ike/codec/constants.js';
import { decodeMessage, encodeMessage } from '../../src/ike/codec/message.js';
import type { IkeMessage } from '../../src/ike/codec/types.js';
import { nodeRng } from '../../src/crypto/rng.js';

export interface FloodOptions {
  readonly targets: { readonly '4': string; readonly '6': string };
  /** Source addresses to send from, each bound on port 500: `${base}${first + i}` (IPv6: i in hex), i < count. */
  readonly sources4: { readonly base: string; readonly first: number; readonly count: number };
  readonly sources6: { readonly base: string; readonly first: number; readonly count: number };
  readonly count: number;
  /** Requests per second. */
  readonly rate: number;
}

export interface FloodResult {
  readonly sent: number;
  readonly sendErrors: number;
  readonly startMs: number;
  readonly endMs: number;
  /** Achieved rate, requests per second. */
  readonly rate: number;
  readonly cookies: number;
  readonly saResponses: number;
  readonly otherResponses: number;
}

/** One genuine IKE_SA_INIT request from the project's engine (x25519, AES-GCM). */
export function templateRequest(from: string, to: string): IkeMessage {
  const engine = new IkeEngine({
    connections: [
      connectionConfig({
        name: 'flood',
        localId: { type: 'fqdn', value: 'flood.example.org' },
        proposals: ['aes128gcm16-prfsha256-x25519'],
      }),
    ],
    psk: () => undefined,
    rng: nodeRng,
  });
  engine.initiate('flood', { address: from, port: 500 }, { address: to, port: 500 }, 0);
  const [d] = engine.datagramsToSend();
  if (d === undefined) throw new Error('the engine sent no IKE_SA_INIT');
  return decodeMessage(d.bytes);
}

/** The template with a fresh SPIi and nonce. */
export function variant(t: IkeMessage): Buffer {
  const payloads = t.payloads.map((p) => (p.type === PayloadType.NONCE ? { ...p, data: randomBytes(32) } : p));
  return encodeMessage({ header: { ...t.header, spiI: randomBytes(8) }, payloads });
}

export async function flood(o: FloodOptions): Promise<FloodResult> {
  const template = templateRequest('192.0.2.130', o.targets['4']);
  const counts = { cookies: 0, saResponses: 0, otherResponses: 0, sendErrors: 0 };
  const sources = [
    ...Array.from({ length: o.sources4.count }, (_, i) => `${o.sources4.base}${o.sources4.first + i}`),
    ...Array.from({ length: o.sources6.count }, (_, i) => `${o.sources6.base}${(o.sources6.first + i).toString(16)}`),
  ];
  const sockets = await Promise.all(
    sources.map(
      (address) =>
        new Promise<{ s: dgram.Socket; to: string }>((resolve, reject) => {
          const v6 = address.includes(':');
          const s = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4' });
          s.on('message', (buf) => {
            try {
              const m = decodeMessage(buf);
              const firstPayload = m.payloads[0];
              if (firstPayload?.type === PayloadType.NOTIFY && firstPayload.notifyType === NotifyType.COOKIE)
                counts.cookies++;
              else if (m.payloads.some((p) => p.type === PayloadType.SA)) counts.saResponses++;
              else counts.otherResponses++;
            } catch {
              counts.otherResponses++;
            }
          });
          s.once('error', reject);
          s.bind({ address, port: 500 }, () => {
            s.removeListener('error', reject);
            s.on('error', () => counts.sendErrors++);
            resolve({ s, to: v6 ? o.targets['6'] : o.targets['4'] });
          });
        }),
    ),
  );
  const startMs = Date.now();
  let sent = 0;
  const perTickMs = 10;
  const perTick = Math.max(1, Math.round((o.rate * perTickMs) / 1000));
  while (sent < o.count) {
    const due = Math.min(o.count, Math.round(((Date.now() - startMs) / 1000) * o.rate) + perTick);
    for (; sent < due; sent++) {
      const sock = sockets[sent % sockets.length]!;
      sock.s.send(variant(template), 500, sock.to, (e) => {
        if (e) counts.sendErrors++;
      });
    }
    await new Promise((r) => setTimeout(r, perTickMs));
  }
  const endMs = Date.now();
  // Late answers.
  await new Promise((r) => setTimeout(r, 1500));
  for (const { s } of sockets) s.close();
  return { sent, startMs, endMs, rate: Math.round((sent * 1000) / Math.max(1, endMs - startMs)), ...counts };
}

if (process.argv[1]?.endsWith('ike-flood.js') && process.argv[2] !== undefined) {
  const result = await flood(JSON.parse(process.argv[2]) as FloodOptions);
  process.stdout.write(JSON.stringify(result) + '\n');
}
