/**
 * Virtual IPs on the daemon's side (RFC 7296 2.19): a client puts the addresses its gateway assigned on the
 * TUN (the CHILD_SA's local selector is narrowed to them, so routes into the TUN take them as source) and
 * installs the DNS servers that came with them; all of it goes when the IKE_SA goes. A gateway only remembers
 * what it handed out, for `tsipsec sas`.
 */
import type { Logger } from '../common/log.js';
import { LogLevel } from '../common/log.js';
import type { IkeEvent } from '../ike/events.js';
import type { DnsInstall } from '../io/linux/dns.js';
import type { DaemonIo } from './daemon-io.js';

/** The virtual IPs and attributes of one IKE_SA. */
export interface VirtualIpRecord {
  /** Ours (on the TUN). */
  readonly local: readonly string[];
  /** The peer's (handed out from our pools). */
  readonly remote: readonly string[];
  readonly dns: readonly string[];
  readonly splitInclude: readonly string[];
}

interface Held extends VirtualIpRecord {
  /** Addresses installations finished (or failed) for: CHILD_SAs wait on it (a route's source must exist). */
  ready: Promise<void>;
  readonly installed: string[];
  dnsInstall: DnsInstall | undefined;
}

function cidrOf(address: string): string {
  return address.includes(':') ? `${address}/128` : `${address}/32`;
}

export class VirtualIps {
  readonly #io: Pick<DaemonIo, 'addAddress' | 'delAddress' | 'installDns'>;
  readonly #dev: string;
  readonly #log: Logger;
  readonly #byIkeSa = new Map<number, Held>();

  constructor(io: Pick<DaemonIo, 'addAddress' | 'delAddress' | 'installDns'>, dev: string, log: Logger) {
    this.#io = io;
    this.#dev = dev;
    this.#log = log;
  }

  get(ikeSaId: number): VirtualIpRecord | undefined {
    return this.#byIkeSa.get(ikeSaId);
  }

  /** Resolves once the virtual IPs of `ikeSaId` are on the TUN (at once when it has none). */
  ready(ikeSaId: number): Promise<void> {
    return this.#byIkeSa.get(ikeSaId)?.ready ?? Promise.resolve();
  }

  /** Whether the IKE_SA has virtual IPs (whose addresses `ready` waits for). */
  has(ikeSaId: number): boolean {
    return this.#byIkeSa.has(ikeSaId);
  }

  onEvent(ev: IkeEvent): void {
    switch (ev.type) {
      case 'virtualIpsAssigned': {
        const held: Held = {
          local: ev.local,
          remote: ev.remote,
          dns: ev.local.length > 0 ? ev.dns : [],
          splitInclude: ev.splitInclude,
          installed: [],
          dnsInstall: undefined,
          ready: Promise.resolve(),
        };
        held.ready = this.#install(held, ev.name, ev.ikeSaId);
        this.#byIkeSa.set(ev.ikeSaId, held);
        break;
      }
      case 'ikeSaEstablished': {
        // RFC 7296 1.3.2: a rekeyed IKE_SA keeps the virtual IPs of the one it replaces.
        const old = ev.rekeyOf === undefined ? undefined : this.#byIkeSa.get(ev.rekeyOf);
        if (old !== undefined && ev.rekeyOf !== undefined) {
          this.#byIkeSa.delete(ev.rekeyOf);
          this.#byIkeSa.set(ev.ikeSaId, old);
        }
        break;
      }
      case 'ikeSaDeleted':
        void this.#remove(ev.ikeSaId);
        break;
      default:
        break;
    }
  }

  /** Takes every virtual IP and DNS server off (the daemon stops). */
  async removeAll(): Promise<void> {
    for (const id of [...this.#byIkeSa.keys()]) await this.#remove(id);
  }

  async #install(held: Held, name: string, ikeSaId: number): Promise<void> {
    const sa = `${name}[${ikeSaId}]`;
    if (held.remote.length > 0)
      this.#log.log('cfg', LogLevel.CONTROL, `${sa}: assigned virtual IP ${held.remote.join(', ')} to the peer`);
    for (const address of held.local) {
      const cidr = cidrOf(address);
      try {
        await this.#io.addAddress(cidr, this.#dev);
        held.installed.push(cidr);
        this.#log.log('knl', LogLevel.AUDIT, `${sa}: installed virtual IP ${address} on ${this.#dev}`);
      } catch (e) {
        this.#log.log('knl', LogLevel.AUDIT, `${sa}: installing virtual IP ${address} failed: ${(e as Error).message}`);
      }
    }
    if (held.dns.length === 0) return;
    const servers = held.dns.join(', ');
    try {
      held.dnsInstall = await this.#io.installDns(held.dns, this.#dev);
      if (held.dnsInstall === undefined)
        this.#log.log(
          'knl',
          LogLevel.AUDIT,
          `${sa}: DNS servers ${servers} not installed (in a namespace NAME: no /etc/netns/NAME/; else: no resolvconf)`,
        );
      else this.#log.log('knl', LogLevel.AUDIT, `${sa}: installed DNS servers ${servers} (${held.dnsInstall.where})`);
    } catch (e) {
      this.#log.log('knl', LogLevel.AUDIT, `${sa}: installing DNS servers ${servers} failed: ${(e as Error).message}`);
    }
  }

  async #remove(ikeSaId: number): Promise<void> {
    const held = this.#byIkeSa.get(ikeSaId);
    if (held === undefined) return;
    this.#byIkeSa.delete(ikeSaId);
    await held.ready;
    for (const cidr of held.installed.splice(0))
      await this.#io.delAddress(cidr, this.#dev).then(
        () => this.#log.log('knl', LogLevel.AUDIT, `removed virtual IP ${cidr} from ${this.#dev}`),
        (e: unknown) => this.#log.log('knl', LogLevel.AUDIT, `removing ${cidr}: ${(e as Error).message}`),
      );
    const dns = held.dnsInstall;
    held.dnsInstall = undefined;
    if (dns !== undefined)
      await dns.remove().then(
        () => this.#log.log('knl', LogLevel.CONTROL, `removed DNS servers ${held.dns.join(', ')} (${dns.where})`),
        (e: unknown) => this.#log.log('knl', LogLevel.AUDIT, `removing DNS servers: ${(e as Error).message}`),
      );
  }
}
