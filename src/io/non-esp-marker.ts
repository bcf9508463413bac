/**
 * Demultiplexing UDP datagrams on the NAT-T port (RFC 3948 section 2) into the socket layer's datagram kinds.
 * The rules themselves are `classifyNatTPayload` of src/common/nat-t.ts.
 */
import { classifyNatTPayload } from '../common/nat-t.js';
import { DatagramKind } from './types.js';

const KIND = {
  keepalive: DatagramKind.KEEPALIVE,
  ike: DatagramKind.IKE,
  esp: DatagramKind.ESP,
  invalid: DatagramKind.INVALID,
};

/** Classify a datagram received on a NAT-T port. */
export function classifyNatTDatagram(buf: Uint8Array, offset: number, length: number): DatagramKind {
  return KIND[classifyNatTPayload(buf, offset, length)];
}
