/**
 * Hand a received UDP batch to the IKE and ESP receivers. Shared by the Linux endpoint and its memory twin so
 * both demultiplex identically (RFC 3948 2.2 on a NAT-T port; everything is IKE on port 500).
 */
import { readAddressSlot } from './ip-address.js';
import { NON_ESP_MARKER_LENGTH } from '../common/nat-t.js';
import { classifyNatTDatagram } from './non-esp-marker.js';
import { DatagramKind, type DatagramBatch, type IoStats, type UdpReceivers } from './types.js';

export interface DemuxCounters {
  stats: IoStats;
  keepalives: number;
}

/** Classify every slot, deliver IKE messages one by one (copied), then the batch once if it holds ESP. */
export function dispatchUdpBatch(
  batch: DatagramBatch,
  natT: boolean,
  receivers: UdpReceivers,
  counters: DemuxCounters,
): void {
  let esp = 0;
  for (let i = 0; i < batch.count; i++) {
    const off = batch.offsets[i] ?? 0;
    const len = batch.lengths[i] ?? 0;
    const buf = batch.bufs[i];
    if (buf === undefined) continue;
    let kind: DatagramKind = natT ? classifyNatTDatagram(buf, off, len) : DatagramKind.IKE;
    if (!natT && len === 0) kind = DatagramKind.INVALID;
    if (kind === DatagramKind.ESP && receivers.esp === undefined) kind = DatagramKind.INVALID;
    batch.kinds[i] = kind;
    switch (kind) {
      case DatagramKind.ESP:
        esp++;
        break;
      case DatagramKind.IKE: {
        const start = natT ? off + NON_ESP_MARKER_LENGTH : off;
        const message = Buffer.from(buf.subarray(start, off + len));
        receivers.ike(
          message,
          { address: readAddressSlot(batch.remoteAddrs, i, batch.family), port: batch.remotePorts[i] ?? 0 },
          { address: readAddressSlot(batch.localAddrs, i, batch.family), port: batch.localPorts[i] ?? 0 },
        );
        break;
      }
      case DatagramKind.KEEPALIVE:
        counters.keepalives++;
        receivers.keepalive?.({
          address: readAddressSlot(batch.remoteAddrs, i, batch.family),
          port: batch.remotePorts[i] ?? 0,
        });
        break;
      default:
        counters.stats.rxDrops++;
    }
  }
  if (esp > 0) receivers.esp?.(batch);
}
