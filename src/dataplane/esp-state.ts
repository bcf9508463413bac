/**
 * What the user-space data plane keeps per SA beside the SAD entry: the ESP engine bound to the SA's keys and
 * the peer's address in the byte form the socket batches use, so the packet path copies bytes instead of
 * parsing text. Built once by `addSa`, changed only by `updateSa`.
 */

import { encrInfo } from '../crypto/algorithms.js';
import { createAead, createCipher, createIntegrity } from '../crypto/index.js';
import { IntegId } from '../crypto/ids.js';
import type { Rng } from '../crypto/types.js';
import { EspInboundSa } from '../esp/inbound-sa.js';
import { EspOutboundSa } from '../esp/outbound-sa.js';
import type { EspSaParams } from '../esp/sa-params.js';
import type { EspTransform } from '../esp/transform.js';
import { familyOf, writeAddress } from '../io/ip-address.js';
import { ADDRESS_SLOT_BYTES } from '../io/types.js';
import type { IpFamily } from '../io/types.js';
import { KernelError } from '../kernel/kernel-ipsec.js';
import type { AddSaArgs } from '../kernel/kernel-ipsec.js';
import type { AhInboundState, AhOutboundState } from './ah-state.js';

/** Outbound: where sealed packets go. */
export class OutboundSaState {
  readonly kind = 'out';
  readonly esp: EspOutboundSa;
  readonly family: IpFamily;
  /** The peer (outer destination), as a batch address slot. */
  readonly peerSlot = new Uint8Array(ADDRESS_SLOT_BYTES);
  /** ESP-in-UDP: the peer's port; 0 for plain ESP. */
  peerPort: number;
  /** ESP in UDP (RFC 3948); tunnel mode SAs switch it with updateSa (MOBIKE). */
  encap: boolean;

  constructor(esp: EspOutboundSa, family: IpFamily, peer: string, peerPort: number, encap: boolean) {
    this.esp = esp;
    this.family = family;
    this.peerPort = peerPort;
    this.encap = encap;
    setSlot(this.peerSlot, peer, family);
  }
}

/** Inbound: the engine and the peer's expected source (for NAT mapping detection, RFC 3948). */
export class InboundSaState {
  readonly kind = 'in';
  readonly esp: EspInboundSa;
  readonly family: IpFamily;
  readonly peerSlot = new Uint8Array(ADDRESS_SLOT_BYTES);
  peerPort: number;
  /** ESP in UDP (RFC 3948); tunnel mode SAs switch it with updateSa (MOBIKE). */
  encap: boolean;
  /** The last new source reported in a mapping upcall (reported once per change). */
  readonly reportedSlot = new Uint8Array(ADDRESS_SLOT_BYTES);
  reportedPort = -1;

  constructor(esp: EspInboundSa, family: IpFamily, peer: string, peerPort: number, encap: boolean) {
    this.esp = esp;
    this.family = family;
    this.peerPort = peerPort;
    this.encap = encap;
    setSlot(this.peerSlot, peer, family);
  }
}

/** Per-SA state of either protocol (AH: ah-state.ts), told apart by `kind`. */
export type SaState = OutboundSaState | InboundSaState | AhOutboundState | AhInboundState;

/** Write an address into a slot; throws KernelError if it is not an address of the family. */
export function setSlot(slot: Uint8Array, address: string, family: IpFamily): void {
  slot.fill(0);
  if (!writeAddress(address, family, slot, 0)) throw new KernelError(`'${address}' is not an IPv${family} address`);
}

/** Family of an SA's endpoints; both must agree. */
export function endpointFamily(src: string, dst: string): IpFamily {
  const fs = familyOf(src);
  const fd = familyOf(dst);
  if (fs === undefined || fd === undefined)
    throw new KernelError(`SA endpoints '${src}' and '${dst}' must be addresses`);
  if (fs !== fd) throw new KernelError(`SA endpoints '${src}' and '${dst}' mix IPv4 and IPv6`);
  return fs;
}

/** The ESP transform for the SA's algorithms and keys (RFC 4303 3.2: combined mode, or cipher + integrity). */
export function espTransform(args: AddSaArgs): EspTransform {
  const enc = args.enc;
  if (enc === undefined) throw new KernelError('an ESP SA needs an encryption algorithm (enc)');
  const info = encrInfo[enc.id];
  if (info === undefined) throw new KernelError(`encryption algorithm ${enc.id} is not supported`);
  if (info.aead) {
    if (args.integ !== undefined && args.integ.id !== IntegId.NONE) {
      throw new KernelError('a combined-mode algorithm takes no separate integrity algorithm (RFC 7296 3.3)');
    }
    return { aead: createAead(enc.id, enc.key) };
  }
  const integ = args.integ !== undefined && args.integ.id !== IntegId.NONE ? args.integ : undefined;
  return {
    cipher: createCipher(enc.id, enc.key),
    integrity: integ === undefined ? null : createIntegrity(integ.id, integ.key),
  };
}

/** Build the SA state (engine included) for an ESP SA. Throws KernelError for anything unusable. */
export function createEspState(args: AddSaArgs, rng: Rng): SaState {
  const family = endpointFamily(args.src, args.dst);
  let params: EspSaParams;
  try {
    params = {
      spi: args.spi,
      mode: args.mode,
      transform: espTransform(args),
      esn: args.esn ?? false,
      output: 'esp',
      rng,
      ...(args.replayWindow !== undefined ? { replayWindow: args.replayWindow } : {}),
      ...(args.tfcPadding !== undefined ? { tfcPadding: args.tfcPadding } : {}),
      ...(args.encap !== undefined ? { encapsulation: { srcPort: args.encap.sport, dstPort: args.encap.dport } } : {}),
    };
    const encap = args.encap !== undefined;
    if (args.inbound) {
      return new InboundSaState(new EspInboundSa(params), family, args.src, args.encap?.sport ?? 0, encap);
    }
    return new OutboundSaState(new EspOutboundSa(params), family, args.dst, args.encap?.dport ?? 0, encap);
  } catch (e) {
    if (e instanceof KernelError) throw e;
    throw new KernelError(`cannot install ESP SA ${args.spi.toString(16)}: ${(e as Error).message}`);
  }
}
