/**
 * Renders decoded payloads the way tcpdump -v prints them (only the fields these tests compare), so that
 * our decoding can be checked against tcpdump's independent dissection in the .out files. The names are
 * tcpdump's spellings as they appear in those files.
 */
import { PayloadType } from '../../../src/ike/codec/constants.js';
import type { IkeHeader, Payload } from '../../../src/ike/codec/types.js';
import { normalizeDumpLine } from './ike-pcap.js';

const EXCHANGE: Record<number, string> = { 34: 'ikev2_init', 35: 'ikev2_auth', 36: 'child_sa', 37: 'inf2' };
const PROTO: Record<number, string> = { 1: 'isakmp', 2: 'ah', 3: 'esp' };
const TRANSFORM_TYPE: Record<number, string> = { 1: 'encr', 2: 'prf', 3: 'integ', 4: 'dh', 5: 'esn' };
const TRANSFORM_ID: Record<number, Record<number, string>> = {
  1: { 3: '3des', 12: 'aes' },
  2: { 1: 'hmac-md5', 2: 'hmac-sha', 4: 'aes128_xcbc' },
  3: { 1: 'hmac-md5', 2: 'hmac-sha', 5: 'aes-xcbc' },
  4: { 2: 'modp1024', 5: 'modp1536', 14: 'modp2048' },
};
const NOTIFY: Record<number, string> = {
  16388: 'nat_detection_source_ip',
  16389: 'nat_detection_destination_ip',
  16390: 'cookie',
};
const AUTH: Record<number, string> = { 1: 'rsasig', 2: 'shared' };
const ID: Record<number, string> = { 1: 'ipv4', 2: 'fqdn', 3: 'rfc822' };

function name(table: Record<number, string>, v: number): string {
  return table[v] ?? `#${v}`;
}

function printable(b: Buffer): string {
  return [...b].map((c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.')).join('');
}

/** The header fields tcpdump prints on the isakmp line. */
export function dissectHeader(h: IkeHeader): Record<string, string> {
  return {
    version: `${h.majorVersion}.${h.minorVersion}`,
    msgid: h.messageId.toString(16).padStart(8, '0'),
    spiI: h.spiI.toString('hex'),
    spiR: h.spiR.toString('hex'),
    exchange: name(EXCHANGE, h.exchangeType),
    role: h.flags.initiator ? 'I' : 'R',
  };
}

/** tcpdump's lines for a payload list, normalised like the parsed .out lines. */
export function dissectPayloads(payloads: readonly Payload[], bodyLength: (p: Payload) => number): string[] {
  const lines: string[] = [];
  for (const p of payloads) {
    switch (p.type) {
      case PayloadType.SA:
        lines.push(`(sa: len=${bodyLength(p)}`);
        for (const prop of p.proposals) {
          const len =
            8 + prop.spi.length + prop.transforms.reduce((n, t) => n + 8 + (t.keyLength === undefined ? 0 : 4), 0);
          lines.push(
            `(p: #${prop.num} protoid=${name(PROTO, prop.protocolId)} transform=${prop.transforms.length} len=${len}`,
          );
          prop.transforms.forEach((t, i) => {
            const id = name(TRANSFORM_ID[t.type] ?? {}, t.id);
            const kl =
              t.keyLength === undefined ? '' : ` (type=keylen value=${t.keyLength.toString(16).padStart(4, '0')}`;
            lines.push(`(t: #${i + 1} type=${name(TRANSFORM_TYPE, t.type)} id=${id}${kl}`);
          });
        }
        break;
      case PayloadType.KE:
        lines.push(
          `(v2ke: len=${p.data.length} group=${name(TRANSFORM_ID[4] ?? {}, p.group)} ${p.data.toString('hex')}`,
        );
        break;
      case PayloadType.NONCE:
        lines.push(`(nonce: len=${p.data.length} nonce=(${p.data.toString('hex')}`);
        break;
      case PayloadType.NOTIFY: {
        const data = p.notifyType === 16390 ? ` data=(${p.data.toString('hex')}` : '';
        lines.push(`(n: prot_id=#${p.protocolId} type=${p.notifyType}(${name(NOTIFY, p.notifyType)})${data}`);
        break;
      }
      case PayloadType.VENDOR_ID:
        lines.push(`(v2vid: len=${p.data.length} vid=${printable(p.data)} ${p.data.toString('hex')}`);
        break;
      case PayloadType.SK:
        lines.push(`(v2e: len=${p.data.length} ${p.data.toString('hex')}`);
        break;
      case PayloadType.IDi:
      case PayloadType.IDr: {
        const body = Buffer.concat([Buffer.from([p.idType, 0, 0, 0]), p.data]);
        const tag = p.type === PayloadType.IDi ? 'v2IDi' : 'v2IDr';
        lines.push(`(${tag}: len=${body.length} ${body.toString('hex')} ${name(ID, p.idType)}:${printable(p.data)}`);
        break;
      }
      case PayloadType.AUTH:
        lines.push(
          `(v2auth: len=${4 + p.data.length} method=${name(AUTH, p.method)} authdata=(${p.data.toString('hex')}`,
        );
        break;
      default:
        lines.push(`(unrendered ${String(p.type)}`);
    }
  }
  return lines.map(normalizeDumpLine);
}
