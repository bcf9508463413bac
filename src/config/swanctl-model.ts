/**
 * The typed, validated and frozen model of swanctl.conf(5) that the daemon runs from. Every object carries the
 * origin (file:line:column) of the section or key it came from; defaults are filled in as strongSwan 5.9 fills them
 * (see swanctl-conf.ts for each default and where it is documented).
 */
import type { Diagnostic, Origin } from './config-error.js';

export type IpFamily = 4 | 6;

export interface IpAddress {
  readonly family: IpFamily;
  /** The literal as written (IPv6 lower-cased). */
  readonly address: string;
}

/** One item of local_addrs / remote_addrs. */
export type AddressSpec =
  | { readonly kind: 'any'; readonly family?: IpFamily }
  | ({ readonly kind: 'address' } & IpAddress)
  | ({ readonly kind: 'subnet'; readonly prefix: number } & IpAddress)
  | { readonly kind: 'range'; readonly family: IpFamily; readonly from: string; readonly to: string }
  | { readonly kind: 'dns'; readonly name: string };

/** The address part of a traffic selector; `dynamic` is replaced by the outer (or virtual) address at runtime. */
export type TsAddress =
  | { readonly kind: 'dynamic' }
  | ({ readonly kind: 'subnet'; readonly prefix: number } & IpAddress)
  | { readonly kind: 'range'; readonly family: IpFamily; readonly from: string; readonly to: string };

/** RFC 7296 3.13.1 traffic selector as configured: protocol 0 means any; ports 0-65535 mean any. */
export interface TrafficSelector {
  readonly address: TsAddress;
  readonly protocol: number;
  /** For ICMP and ICMPv6 strongSwan puts the type (and code) in the port fields; they are kept as written. */
  readonly portFrom: number;
  readonly portTo: number;
  /** `[proto/opaque]`: RFC 4301 OPAQUE ports (portFrom 65535, portTo 0 as on the wire). */
  readonly opaque: boolean;
  /** The item as written, for logs. */
  readonly text: string;
}

/** A proposal string as written (e.g. `aes128gcm16-prfsha256-x25519`), checked by the proposal hook if given. */
export interface ProposalText {
  readonly text: string;
  readonly origin: Origin;
}

export type AuthClass = 'psk' | 'pubkey' | 'eap' | 'xauth';

/** One local<suffix> or remote<suffix> authentication round. */
export interface AuthRound {
  /** The section name: `local`, `local-2`, `remote`, ... */
  readonly name: string;
  readonly origin: Origin;
  /** Where each key of this section was set (inherited keys keep the origin of their definition). */
  readonly keyOrigins: Readonly<Record<string, Origin>>;
  /** `round` if given, else the position (rounds are sorted by it, then by position). */
  readonly round: number;
  /** `auth` as written (e.g. `psk`, `pubkey`, `ike:rsa/pss-sha256`). */
  readonly auth: string;
  readonly authClass: AuthClass;
  /** IKE identity; local: undefined means the outer address (strongSwan's default); remote: `%any` by default. */
  readonly id: string | undefined;
  /** Certificate files (relative to x509/ beside the config, or absolute). */
  readonly certs: readonly string[];
  /** Raw public key files (relative to pubkey/). */
  readonly pubkeys: readonly string[];
  /** Trust anchors for the peer (relative to x509ca/). */
  readonly cacerts: readonly string[];
  /** Revocation policy for the peer's certificate (default relaxed). */
  readonly revocation: 'strict' | 'ifuri' | 'relaxed';
  /**
   * `eap_id`: local, our EAP identity (default: the IKE identity); remote, the EAP identity the peer must use, `%any`
   * to ask it with EAP-Identity (default: the peer's IKE identity).
   */
  readonly eapId?: string;
}

export type IkeVersion = 0 | 1 | 2;
export type Fragmentation = 'yes' | 'accept' | 'force' | 'no';
export type UniquePolicy = 'no' | 'never' | 'keep' | 'replace';
export type ChildMode = 'tunnel' | 'transport' | 'pass' | 'drop';
export type StartAction = 'none' | 'trap' | 'start' | 'trap|start';
export type DpdAction = 'clear' | 'trap' | 'restart';
export type CloseAction = 'none' | 'trap' | 'start';

export interface ChildConfig {
  readonly name: string;
  readonly origin: Origin;
  /** Where each key of this section was set (inherited keys keep the origin of their definition). */
  readonly keyOrigins: Readonly<Record<string, Origin>>;
  readonly localTs: readonly TrafficSelector[];
  readonly remoteTs: readonly TrafficSelector[];
  readonly mode: ChildMode;
  /** `default` is kept as the single word `default`; empty when only AH is proposed. */
  readonly espProposals: readonly ProposalText[];
  readonly ahProposals: readonly ProposalText[];
  readonly rekeyTimeSec: number;
  readonly lifeTimeSec: number;
  readonly randTimeSec: number;
  readonly rekeyBytes: number;
  readonly lifeBytes: number;
  readonly randBytes: number;
  readonly rekeyPackets: number;
  readonly lifePackets: number;
  readonly randPackets: number;
  /** Packets; 0 disables replay protection. */
  readonly replayWindow: number;
  readonly startAction: StartAction;
  readonly dpdAction: DpdAction;
  readonly closeAction: CloseAction;
}

export interface IkeConnection {
  readonly name: string;
  readonly origin: Origin;
  /** Where each key of this section was set (inherited keys keep the origin of their definition). */
  readonly keyOrigins: Readonly<Record<string, Origin>>;
  /** 0: initiate IKEv2, accept any as responder (this project speaks IKEv2 only). */
  readonly version: IkeVersion;
  readonly localAddrs: readonly AddressSpec[];
  readonly remoteAddrs: readonly AddressSpec[];
  readonly localPort: number;
  readonly remotePort: number;
  readonly proposals: readonly ProposalText[];
  readonly encap: boolean;
  readonly mobike: boolean;
  readonly dpdDelaySec: number;
  readonly dpdTimeoutSec: number;
  readonly rekeyTimeSec: number;
  readonly reauthTimeSec: number;
  readonly overTimeSec: number;
  readonly randTimeSec: number;
  readonly fragmentation: Fragmentation;
  readonly unique: UniquePolicy;
  /** 0 means retry for ever. */
  readonly keyingtries: number;
  /** `vips`: virtual IPs to request (RFC 7296 2.19); `0.0.0.0` and `::` ask for any address of that family. */
  readonly vips: readonly IpAddress[];
  /** `pools`: names of `pools` sections to assign virtual IPs and attributes from, in order. */
  readonly pools: readonly string[];
  readonly local: readonly AuthRound[];
  readonly remote: readonly AuthRound[];
  /** `send_cert` (default ifasked). */
  readonly sendCert: 'always' | 'ifasked' | 'never';
  /** `send_certreq` (default yes). */
  readonly sendCertreq: boolean;
  readonly children: readonly ChildConfig[];
}

/** A `secrets.ike<suffix>` pre-shared key. */
export interface IkeSecret {
  readonly name: string;
  readonly origin: Origin;
  /** The decoded key bytes. */
  readonly secret: Uint8Array;
  /** Origin of the `secret` key (its file must not be world-readable). */
  readonly secretOrigin: Origin;
  /** Identities from the id<suffix> keys, in order; empty means the secret applies to any peer. */
  readonly ids: readonly string[];
}

/** A `secrets.eap<suffix>` (or its alias `xauth<suffix>`) password: EAP-MSCHAPv2, EAP-MD5. */
export interface EapSecret {
  readonly name: string;
  readonly origin: Origin;
  /** The decoded secret (ASCII, `0x` hex or `0s` Base64 as written); methods use it as UTF-8 text. */
  readonly secret: Uint8Array;
  readonly secretOrigin: Origin;
  /** EAP identities from the id<suffix> keys, in order; empty means the secret applies to any identity. */
  readonly ids: readonly string[];
}

/** secrets.private<suffix> / rsa / ecdsa / pkcs8 / pkcs12: a private key file and its passphrase. */
export interface PrivateKeySecret {
  readonly name: string;
  readonly origin: Origin;
  /** The section type: private, rsa, ecdsa, pkcs8 or pkcs12 (selects the folder beside the config). */
  readonly type: 'private' | 'rsa' | 'ecdsa' | 'pkcs8' | 'pkcs12';
  readonly file: string;
  /** Passphrase of an encrypted key. */
  readonly secret: Uint8Array | undefined;
}

/** authorities.<name>: a CA certificate with its revocation sources. */
export interface Authority {
  readonly name: string;
  readonly origin: Origin;
  /** `cacert` file (relative to x509ca/). */
  readonly cacert: string | undefined;
  readonly crlUris: readonly string[];
  readonly ocspUris: readonly string[];
}

/** A `pools.<name>` section: virtual IP addresses and the attributes handed out with them (RFC 7296 3.15.1). */
export interface AddressPoolConfig {
  readonly name: string;
  readonly origin: Origin;
  readonly keyOrigins: Readonly<Record<string, Origin>>;
  /** `addrs` as written: a CIDR subnet or a FROM-TO range. */
  readonly addrs: string;
  readonly family: IpFamily;
  /** `dns`: DNS servers (either family). */
  readonly dns: readonly IpAddress[];
  /** `split_include`: subnets to reach through the tunnel, as CIDR text. */
  readonly splitInclude: readonly string[];
}

export interface SwanctlConfig {
  readonly connections: readonly IkeConnection[];
  /** The `pools` section, in file order. */
  readonly pools: readonly AddressPoolConfig[];
  readonly secrets: readonly IkeSecret[];
  /** `secrets.eap<suffix>` and `xauth<suffix>` (may be absent in configurations built by hand). */
  readonly eapSecrets?: readonly EapSecret[];
  /** Private key secrets (may be absent in configurations built by hand). */
  readonly privateKeys?: readonly PrivateKeySecret[];
  readonly authorities?: readonly Authority[];
  /** Every file read (the main one first), for reload and permission checks. */
  readonly files: readonly string[];
  /** Origins of every secret-carrying key (`secret`, `pin`) in any secrets section, supported or not. */
  readonly secretOrigins: readonly Origin[];
}

export interface SwanctlParseResult {
  readonly config: SwanctlConfig;
  readonly warnings: readonly Diagnostic[];
}

/** Checks one proposal (one comma-separated item); returns an error message, or undefined when it is fine. */
export type ValidateProposal = (proposal: string, kind: 'ike' | 'esp' | 'ah') => string | undefined;
