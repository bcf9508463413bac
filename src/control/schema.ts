/**
 * The shapes the daemon returns on the control channel, which `--json` prints unchanged. These are a
 * user-facing surface: fields are only ever added, never renamed or removed.
 */
import type { OffloadInfo, UdpGroInfo, UdpGsoInfo } from '../io/types.js';

/** Traffic counters of one direction of a CHILD_SA. */

export interface TrafficCounters {
  bytes: number;
  packets: number;
}

export interface ChildSaInfo {
  /** Child config name (swanctl.conf `children.<name>`). */
  name: string;
  /** Daemon-wide unique id, shown as `name{id}` in logs. */
  uniqueId: number;
  reqid: number;
  /** INSTALLING, INSTALLED, REKEYING, REKEYED, DELETING. */
  state: string;
  mode: 'tunnel' | 'transport';
  protocol: 'esp' | 'ah';
  /** ESP in UDP (RFC 3948). */
  encap: boolean;
  /** Our inbound SPI and the peer's (our outbound), 8 hex digits. */
  spiIn: string;
  spiOut: string;
  /** Algorithms in strongSwan's notation, e.g. AES_GCM_16_128 / NO_EXT_SEQ. */
  encryption: string;
  integrity: string | null;
  esn: boolean;
  localTs: string[];
  remoteTs: string[];
  in: TrafficCounters;
  out: TrafficCounters;
  /** Inbound and outbound drops by reason ('replay', 'icv', 'policy', ...). */
  drops: Record<string, number>;
  installedSecAgo: number;
  rekeyInSec: number | null;
  expiresInSec: number | null;
}

/** A certificate as listings show it (subject and issuer in strongSwan's DN form, times in ISO 8601). */
export interface CertificateInfo {
  subject: string;
  issuer: string;
  /** Hex serial number. */
  serial: string;
  notBefore: string;
  notAfter: string;
}

export interface IkeSaInfo {
  /** Connection name (swanctl.conf `connections.<name>`). */
  name: string;
  uniqueId: number;
  /** CREATED, CONNECTING, ESTABLISHED, REKEYING, REKEYED, DELETING. */
  state: string;
  initiator: boolean;
  localAddr: string;
  localPort: number;
  remoteAddr: string;
  remotePort: number;
  localId: string;
  remoteId: string;
  spiI: string;
  spiR: string;
  /** e.g. AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519. */
  proposal: string;
  natLocal: boolean;
  natRemote: boolean;
  establishedSecAgo: number | null;
  rekeyInSec: number | null;
  children: ChildSaInfo[];
  /** Our certificate and the peer's, when this IKE_SA was authenticated with certificates. */
  localCert?: CertificateInfo;
  remoteCert?: CertificateInfo;
  /** Virtual IPs we hold (assigned by the peer, on our TUN); empty when none. */
  localVips: string[];
  /** Virtual IPs of the peer (handed out from our pools); empty when none. */
  remoteVips: string[];
  /** DNS servers that came with our virtual IPs. */
  dns: string[];
  /** Our EAP identity, when we authenticated with EAP (RFC 7296 2.16); null otherwise. */
  localEapId: string | null;
  /** The peer's EAP identity (the user), when it authenticated with EAP to us; null otherwise. */
  remoteEapId: string | null;
}

export interface ConnectionInfo {
  name: string;
  localAddrs: string[];
  remoteAddrs: string[];
  version: number;
  proposals: string[];
  localAuth: string;
  localId: string;
  remoteAuth: string;
  remoteId: string;
  /** Our certificate and the intermediates we send (certificate authentication). */
  localCerts?: CertificateInfo[];
  /** The CA certificates the peer's certificate must chain to. */
  remoteCacerts?: CertificateInfo[];
  children: {
    name: string;
    mode: string;
    localTs: string[];
    remoteTs: string[];
    espProposals: string[];
    ahProposals: string[];
    startAction: string;
  }[];
}

export interface DaemonStats {
  uptimeSec: number;
  ikeSas: number;
  childSas: number;
  /** Data-plane totals. */
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Drops by reason across every SA and the policy lookups. */
  drops: Record<string, number>;
  /** IKE messages. */
  ikeIn: number;
  ikeOut: number;
  ikeRetransmits: number;
  /** IKE datagrams dropped by reason ('malformed', 'unknownSpi', 'integrity', ...). */
  ikeDrops: Record<string, number>;
  memoryRssBytes: number;
  /**
   * Data-plane offloads chosen at start: the TUN's (TSO/USO reads split in user space, GRO writes, or why they
   * are off) and UDP GSO for ESP in UDP, with what each did. Absent on devices without offloads.
   */
  offloads?: {
    tun?: OffloadInfo;
    udpGso?: UdpGsoInfo;
    /** UDP GRO receives of ESP in UDP: coalesced receives split here and the datagrams they carried. */
    udpGro?: UdpGroInfo;
  };
}

/** One lease of a pool: an address and the identity it belongs to (online: an IKE_SA holds it). */
export interface PoolLease {
  address: string;
  identity: string;
  status: 'online' | 'offline';
}

/** A virtual IP pool (swanctl.conf `pools.<name>`), as `swanctl --list-pools --leases` shows it. */
export interface PoolInfo {
  name: string;
  /** `addrs` as configured. */
  addrs: string;
  family: 4 | 6;
  /** First and last address handed out. */
  first: string;
  last: string;
  size: number;
  online: number;
  offline: number;
  dns: string[];
  leases: PoolLease[];
}
