/**
 * What the user-space data plane keeps per AH SA (RFC 4302) beside the SAD entry: the AH engine bound to the
 * SA's integrity key and the peer's address as a batch slot. Built once by `addSa`; `updateSa` moves the
 * peer, and for an outbound tunnel-mode SA builds a new engine for the new outer endpoints that goes on
 * with the sequence number where the old one stopped (the endpoints are part of every ICV).
 *
 * AH integrity-protects the outer IP header (RFC 4302 3.3.3.1), so it cannot pass a NAT and has no UDP
 * encapsulation (RFC 3948 covers ESP only): an SA asking for one is refused.
 */

import { AhInboundSa, AhOutboundSa } from '../ah/index.js';
import type { AhSaConfig } from '../ah/index.js';
import { integInfo } from '../crypto/algorithms.js';
import { createIntegrity } from '../crypto/index.js';
import { IntegId } from '../crypto/ids.js';
import { ADDRESS_SLOT_BYTES } from '../io/types.js';
import type { IpFamily } from '../io/types.js';
import { writeAddress } from '../io/ip-address.js';
import { KernelError } from '../kernel/kernel-ipsec.js';
import type { AddSaArgs } from '../kernel/kernel-ipsec.js';
import { endpointFamily, setSlot } from './esp-state.js';

/** Outbound AH: the engine (replaced on an endpoint change) and where sealed packets go. */
export class AhOutboundState {
  readonly kind = 'ahOut';
  ah: AhOutboundSa;
  readonly family: IpFamily;
  /** The peer (outer destination), as a batch address slot. */
  readonly peerSlot = new Uint8Array(ADDRESS_SLOT_BYTES);
  readonly #config: AhSaConfig;

  constructor(config: AhSaConfig, family: IpFamily, peer: string) {
    this.#config = config;
    this.ah = new AhOutboundSa(config);
    this.family = family;
    setSlot(this.peerSlot, peer, family);
  }

  /**
   * New outer endpoints (MOBIKE, RFC 4555): tunnel mode gets an engine writing the new outer header, with
   * the same key and the next sequence number (RFC 4302 3.3.2: never reused). Throws KernelError.
   */
  move(src: string, dst: string): void {
    if (endpointFamily(src, dst) !== this.family) throw new KernelError('an AH SA cannot change address family');
    if (this.#config.mode === 'tunnel') {
      if (this.ah.exhausted) throw new KernelError('the AH SA has used its last sequence number: rekey it');
      this.ah = new AhOutboundSa({
        ...this.#config,
        tunnel: { src: addressBytes(src, this.family), dst: addressBytes(dst, this.family) },
        initialSeq: this.ah.lastSeq + 1,
      });
    }
    setSlot(this.peerSlot, dst, this.family);
  }
}

/** Inbound AH: the engine (replay window inside) and the peer's expected source. */
export class AhInboundState {
  readonly kind = 'ahIn';
  readonly ah: AhInboundSa;
  readonly family: IpFamily;
  readonly peerSlot = new Uint8Array(ADDRESS_SLOT_BYTES);

  constructor(ah: AhInboundSa, family: IpFamily, peer: string) {
    this.ah = ah;
    this.family = family;
    setSlot(this.peerSlot, peer, family);
  }
}

export type AhState = AhOutboundState | AhInboundState;

function addressBytes(address: string, family: IpFamily): Uint8Array {
  const b = new Uint8Array(family === 4 ? 4 : 16);
  if (!writeAddress(address, family, b, 0)) throw new KernelError(`'${address}' is not an IPv${family} address`);
  return b;
}

/**
 * Build the state (engine included) of an AH SA: integrity only (RFC 4302 2.6; any IKEv2 integrity
 * transform, AES-GMAC of RFC 4543 included), no encryption, no UDP encapsulation, no TFC padding.
 * Throws KernelError for anything unusable.
 */
export function createAhState(args: AddSaArgs): AhState {
  if (args.encap !== undefined) {
    throw new KernelError(
      'AH cannot cross a NAT: its ICV covers the outer addresses (RFC 4302 3.3.3.1) and UDP encapsulation ' +
        '(RFC 3948) exists for ESP only; use ESP for this peer, or a path without NAT',
    );
  }
  if (args.enc !== undefined)
    throw new KernelError('an AH SA takes no encryption algorithm (RFC 4302 provides integrity only)');
  if (args.tfcPadding !== undefined && args.tfcPadding > 0)
    throw new KernelError('TFC padding is an ESP feature (RFC 4303 2.7)');
  const integ = args.integ;
  if (integ === undefined || integ.id === IntegId.NONE)
    throw new KernelError('an AH SA needs an integrity algorithm (integ)');
  if (integInfo[integ.id] === undefined) throw new KernelError(`integrity algorithm ${integ.id} is not supported`);
  const family = endpointFamily(args.src, args.dst);
  try {
    const config: AhSaConfig = {
      spi: args.spi,
      mode: args.mode,
      integrity: createIntegrity(integ.id, integ.key),
      esn: args.esn ?? false,
      ...(args.replayWindow !== undefined ? { replayWindow: args.replayWindow } : {}),
      ...(args.mode === 'tunnel' && !args.inbound
        ? { tunnel: { src: addressBytes(args.src, family), dst: addressBytes(args.dst, family) } }
        : {}),
    };
    if (args.inbound) return new AhInboundState(new AhInboundSa(config), family, args.src);
    return new AhOutboundState(config, family, args.dst);
  } catch (e) {
    if (e instanceof KernelError) throw e;
    throw new KernelError(`cannot install AH SA ${args.spi.toString(16)}: ${(e as Error).message}`);
  }
}
