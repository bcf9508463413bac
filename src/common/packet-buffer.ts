/**
 * Pooled packet buffers with headroom and tailroom (STYLE.md "Headroom and in-place crypto"): a packet sits
 * at `off` inside a larger buffer, so ESP/AH can write the outer IP header, UDP header, ESP header and IV in
 * front of it and the trailer and ICV behind it without copying the payload or calling Buffer.concat.
 *
 * A PacketBuffer is a small mutable view: engines move `off` and change `len` as they add or strip headers.
 */

/** Outer IPv6 (40) + UDP (8, RFC 3948) + ESP header (8) + largest IV (16 for AES-CBC) = 72, rounded up. */
export const PACKET_HEADROOM = 128;
/** TFC padding aside: ESP padding (up to 255, in practice < 16) + pad length + next header + ICV (up to 32). */
export const PACKET_TAILROOM = 320;
/** Largest IP packet a pooled buffer holds between headroom and tailroom. */
export const PACKET_MAX_PAYLOAD = 9000;

export interface PacketBuffer {
  /** The whole backing buffer (shared slab for pooled buffers). */
  readonly buf: Buffer;
  /** Where the packet starts in `buf`. */
  off: number;
  /** Packet length in bytes. */
  len: number;
}

/** A packet buffer holding a copy of `data` at offset `headroom`, with `tailroom` free bytes behind it. */
export function packetFrom(
  data: Uint8Array,
  headroom: number = PACKET_HEADROOM,
  tailroom: number = PACKET_TAILROOM,
): PacketBuffer {
  const buf = Buffer.alloc(headroom + data.length + tailroom);
  buf.set(data, headroom);
  return { buf, off: headroom, len: data.length };
}

/** The packet's bytes as a view (no copy). */
export function packetBytes(p: PacketBuffer): Buffer {
  return p.buf.subarray(p.off, p.off + p.len);
}

/** Free bytes in front of and behind the packet. */
export function headroomOf(p: PacketBuffer): number {
  return p.off;
}
export function tailroomOf(p: PacketBuffer): number {
  return p.buf.length - p.off - p.len;
}

/**
 * A fixed set of equally sized packet buffers carved out of one slab. `acquire` returns a buffer reset to
 * the standard headroom with len 0, or undefined when all are in use (the caller drops or waits);
 * `release` puts it back. No allocation after construction.
 */
export class PacketPool {
  readonly slotSize: number;
  readonly headroom: number;
  private readonly free: PacketBuffer[] = [];
  private readonly all: PacketBuffer[] = [];

  constructor(count: number, maxPayload: number = PACKET_MAX_PAYLOAD, headroom: number = PACKET_HEADROOM) {
    this.headroom = headroom;
    this.slotSize = headroom + maxPayload + PACKET_TAILROOM;
    const slab = Buffer.alloc(this.slotSize * count);
    for (let i = 0; i < count; i++) {
      const p: PacketBuffer = { buf: slab.subarray(i * this.slotSize, (i + 1) * this.slotSize), off: headroom, len: 0 };
      this.all.push(p);
      this.free.push(p);
    }
  }

  get available(): number {
    return this.free.length;
  }

  get size(): number {
    return this.all.length;
  }

  acquire(): PacketBuffer | undefined {
    const p = this.free.pop();
    if (p !== undefined) {
      p.off = this.headroom;
      p.len = 0;
    }
    return p;
  }

  release(p: PacketBuffer): void {
    this.free.push(p);
  }
}
