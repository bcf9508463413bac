/**
 * The IKE engine's configuration: plain typed objects. The swanctl.conf parser maps onto these types;
 * every field documents the swanctl.conf setting it corresponds to.
 */
import type { TlsChannelFactory, TlsCredentials } from '../eap/eap-tls.js';
import type { KeyObject } from 'node:crypto';
import type { Logger } from '../common/log.js';
import type { X509Cert } from '../pki/certificate.js';
import type { Rng } from '../crypto/types.js';
import type { VirtualIpPools } from '../pools/virtual-ip-pools.js';

/** An identity (RFC 7296 3.5). `any` on the remote side accepts every identity (swanctl `%any`). */
export type IkeIdentity =
  | { readonly type: 'ipv4' | 'ipv6' | 'fqdn' | 'rfc822'; readonly value: string }
  | { readonly type: 'keyId'; readonly value: Uint8Array }
  /** ID_DER_ASN1_DN: `value` in strongSwan's form (`C=CH, O=strongSwan, CN=moon`), `der` the encoded Name. */
  | { readonly type: 'dn'; readonly value: string; readonly der: Uint8Array }
  | { readonly type: 'any' };

/**
 * One item of swanctl `local_addrs` / `remote_addrs` (the shape of the config model's AddressSpec). As
 * responder, a request is only answered by a connection whose lists hold both of its addresses. A DNS name
 * is not resolved by the engine and matches no request.
 */
export type AddressMatch =
  | { readonly kind: 'any'; readonly family?: 4 | 6 }
  | { readonly kind: 'address'; readonly address: string }
  | { readonly kind: 'subnet'; readonly address: string; readonly prefix: number }
  | { readonly kind: 'range'; readonly from: string; readonly to: string }
  | { readonly kind: 'dns'; readonly name: string };

/** Where a CHILD_SA's traffic selectors come from: text like `192.0.2.0/24[tcp/80]`, or `dynamic` (the IKE address). */
export type TsSpec = string;

/** Lifetimes of a CHILD_SA (swanctl `rekey_time`, `life_time`, `rand_time`, `rekey_bytes`, ...). 0 = off. */
export interface ChildLifetimes {
  /** swanctl `rekey_time` (default 3600 s). */
  readonly rekeyTimeSec: number;
  /** swanctl `life_time` (default rekey_time * 1.1): hard expiry. */
  readonly lifeTimeSec: number;
  /** swanctl `rand_time` (default life_time - rekey_time): rekey starts up to this much earlier. */
  readonly randTimeSec: number;
  readonly rekeyBytes: number;
  readonly lifeBytes: number;
  readonly randBytes: number;
  readonly rekeyPackets: number;
  readonly lifePackets: number;
  readonly randPackets: number;
}

/** One CHILD_SA configuration (swanctl `connections.<conn>.children.<child>`). */
export interface ChildConfig {
  /** The child's name (the section name). */
  readonly name: string;
  /** `esp` unless `ah_proposals` is set in swanctl. */
  readonly protocol: 'esp' | 'ah';
  /**
   * swanctl `esp_proposals` / `ah_proposals`: strongSwan proposal strings. A KE keyword (`-modp3072`,
   * `-x25519`) enables PFS for CREATE_CHILD_SA; the first CHILD_SA in IKE_AUTH never carries KE.
   */
  readonly proposals: readonly string[];
  /** swanctl `mode`: `tunnel` (default) or `transport` (USE_TRANSPORT_MODE, RFC 7296 1.3.1). */
  readonly mode: 'tunnel' | 'transport';
  /** swanctl `local_ts` (default `dynamic`). */
  readonly localTs: readonly TsSpec[];
  /** swanctl `remote_ts` (default `dynamic`). */
  readonly remoteTs: readonly TsSpec[];
  readonly lifetimes: ChildLifetimes;
}

/**
 * EAP-TLS (swanctl `auth = eap-tls`): our certificate (and intermediates) with its key, the CAs the other side's
 * certificate must chain to, the largest EAP message, and the identity that certificate must carry (client:
 * default the remote IKE identity; server: default the peer's EAP identity).
 */
export interface EapTlsSettings {
  readonly credentials: TlsCredentials;
  /** The TLS implementation (src/io/tls-session.ts: `nodeTlsChannel`). */
  readonly channel: TlsChannelFactory;
  readonly fragmentSize?: number;
  readonly peerIdentity?: IkeIdentity;
  /** Wall-clock time (ms since 1970) for certificate validity, given the engine's `nowMs` (as RemotePubkeyAuth). */
  readonly wallClockMs?: (nowMs: number) => number;
}

/** EAP as a client: our EAP identity (swanctl `eap_id`) and the methods we accept (EapType, default MSCHAPv2, MD5). */
export interface EapClientConfig {
  readonly identity: string;
  readonly methods?: readonly number[];
  readonly tls?: EapTlsSettings;
}

/** EAP as a server: the methods offered (EapType), and whether to ask the identity (swanctl remote `eap_id`). */
export interface EapServerSettings {
  readonly methods: readonly number[];
  /** Ask with EAP-Identity (`eap_id` set); otherwise the peer's IKE identity is its EAP identity. */
  readonly askIdentity: boolean;
  /** The EAP identity the peer must authenticate as (`eap_id` other than `%any`). */
  readonly identity?: string;
  readonly tls?: EapTlsSettings;
}

/** Retransmission (strongSwan `charon.retransmit_*`): timeout * base^n, n = 0 .. tries. */
export interface RetransmitConfig {
  /** `retransmit_timeout`, seconds (strongSwan's default 4; ours DEFAULT_RETRANSMIT below). */
  readonly timeoutSec: number;
  /** `retransmit_base` (strongSwan's default 1.8). */
  readonly base: number;
  /** `retransmit_tries` (strongSwan's default 5): retransmissions before giving up. */
  readonly tries: number;
  /** `retransmit_limit`, seconds; 0 = no cap. */
  readonly limitSec: number;
}

/** How we prove our identity with a signature (swanctl `local.auth = pubkey` with `local.certs` or `local.pubkeys`). */
export interface LocalPubkeyAuth {
  /** The private key matching the certificate (or raw public key). Never logged. */
  readonly privateKey: KeyObject;
  /** Our certificate first, then intermediate CA certificates sent along; empty with a raw public key. */
  readonly certs: readonly X509Cert[];
  /** `auth = pubkey-rsa/pss` (or `rsa/pss`): RSASSA-PSS rather than PKCS#1 v1.5 for RSA keys (RFC 7427). */
  readonly rsaPss: boolean;
}

/**
 * What a certificate status check says (CRL or OCSP, done outside the core). `unknown` means no answer could be
 * had; the connection's `revocation` policy decides what that means.
 */
export type RevocationStatus =
  | { readonly status: 'good' | 'unknown'; readonly detail: string }
  | { readonly status: 'revoked'; readonly detail: string };

/** How we check the peer's signature (swanctl `remote.auth = pubkey`). */
export interface RemotePubkeyAuth {
  /** Trust anchors: swanctl `remote.cacerts`, or every CA certificate loaded (x509ca/, authorities). */
  readonly cacerts: readonly X509Cert[];
  /** Other certificates known locally that may complete the peer's chain (intermediate CAs). */
  readonly intermediates: readonly X509Cert[];
  /** swanctl `remote.certs`: the peer must use one of these (and may omit sending it). */
  readonly certs: readonly X509Cert[];
  /** swanctl `remote.pubkeys`: raw public keys trusted as they are (RFC 7670). */
  readonly pubkeys: readonly KeyObject[];
  /** swanctl `remote.revocation`: `strict` refuses unknown status, `ifuri` only when the cert names a URI. */
  readonly revocation: 'strict' | 'ifuri' | 'relaxed';
  /**
   * Wall-clock time (ms since 1970) for certificate validity and revocation, given the engine's `nowMs`. The
   * engine's clock may be monotonic; the glue supplies the conversion. Absent: `nowMs` is wall-clock time.
   */
  readonly wallClockMs?: (nowMs: number) => number;
  /** Status of `cert` issued by `issuer` from what was loaded or fetched beforehand (CRLs, OCSP). */
  readonly revocationStatus?: (cert: X509Cert, issuer: X509Cert, nowMs: number) => RevocationStatus;
}

/** One IKE connection (swanctl `connections.<conn>`). */
export interface ConnectionConfig {
  readonly name: string;
  /** swanctl `local.id`. */
  readonly localId: IkeIdentity;
  /** swanctl `remote.id` (default `%any`). */
  readonly remoteId: IkeIdentity;
  /** swanctl `local_addrs` (default `%any`): our addresses this connection answers on. */
  readonly localAddrs: readonly AddressMatch[];
  /** swanctl `remote_addrs` (default `%any`): the peer addresses this connection answers. */
  readonly remoteAddrs: readonly AddressMatch[];
  /** swanctl `proposals` (IKE). */
  readonly proposals: readonly string[];
  /** swanctl `rekey_time` for the IKE_SA in seconds (default 14400); 0 = never. */
  readonly rekeyTimeSec: number;
  /**
   * swanctl `reauth_time` in seconds; 0 = never. Reauthentication is make-before-break (strongSwan's
   * `charon.make_before_break = yes`): a new IKE_SA with its CHILD_SAs is set up from scratch, then the old
   * one deleted (reauth.ts).
   */
  readonly reauthTimeSec: number;
  /** swanctl `over_time` (default 10% of rekey_time): hard expiry after rekey_time (or reauth_time, the earlier). */
  readonly overTimeSec: number;
  /** swanctl `rand_time` (default over_time). */
  readonly randTimeSec: number;
  /** swanctl `dpd_delay` in seconds; 0 = no liveness checks. */
  readonly dpdDelaySec: number;
  /** swanctl `fragmentation`: announce IKEV2_FRAGMENTATION_SUPPORTED (RFC 7383). */
  readonly fragmentation: boolean;
  /** swanctl `childless`: `allow` (default), `force` (initiate without a CHILD_SA), `never`. */
  readonly childless: 'allow' | 'force' | 'never';
  /** Send INITIAL_CONTACT in IKE_AUTH (swanctl `unique` != never). */
  readonly sendInitialContact: boolean;
  /** swanctl `encap`: force UDP encapsulation (pretend NAT). */
  readonly forceEncap: boolean;
  /** swanctl `mobike` (the daemon's default yes): announce MOBIKE_SUPPORTED in IKE_AUTH (RFC 4555 3.3). */
  readonly mobike?: boolean;
  readonly children: readonly ChildConfig[];
  /** Signature authentication of ourselves; absent means PSK. */
  readonly localAuth?: LocalPubkeyAuth;
  /** Signature authentication of the peer; absent means PSK. */
  readonly remoteAuth?: RemotePubkeyAuth;
  /** swanctl `send_cert` (default `ifasked`: only when the peer sent CERTREQ). */
  readonly sendCert?: 'always' | 'ifasked' | 'never';
  /** swanctl `send_certreq` (default yes): name our trusted CAs in CERTREQ payloads. */
  readonly sendCertreq?: boolean;
  /** swanctl `vips`: virtual IPs to ask for in IKE_AUTH (`0.0.0.0`, `::` for any; RFC 7296 2.19). */
  readonly vips?: readonly string[];
  /** swanctl `pools`: pools (EngineConfig.pools) to assign the peer's virtual IPs from, in order. */
  readonly pools?: readonly string[];
  /**
   * We authenticate with EAP (swanctl local auth = eap-*, eap_id; RFC 7296 2.16); the peer with its signature
   * (remoteAuth) or its PSK.
   */
  readonly eapClient?: EapClientConfig;
  /** The peer authenticates with EAP (swanctl remote auth = eap-*); we with our signature (localAuth) or PSK. */
  readonly eapServer?: EapServerSettings;
}

/** The engine as a whole: one local endpoint (charon's `charon.*` settings plus loaded connections). */
export interface EngineConfig {
  readonly connections: readonly ConnectionConfig[];
  /**
   * PSK lookup (swanctl `secrets.ike<suffix>`): the shared secret for this pair of identities, or
   * undefined. `remote` is the peer's identity as received.
   */
  readonly psk: (local: IkeIdentity, remote: IkeIdentity) => Uint8Array | undefined;
  readonly rng: Rng;
  readonly log?: Logger;
  readonly retransmit?: RetransmitConfig;
  /** `charon.cookie_threshold` (default 10): half-open IKE_SAs from which on COOKIE is required. */
  readonly cookieThreshold?: number;
  /**
   * `charon.block_threshold` (default 5): half-open IKE_SAs from one initiator address from which on its
   * further IKE_SA_INIT requests are dropped; 0 = no limit.
   */
  readonly blockThreshold?: number;
  /**
   * `charon.init_limit_half_open` (default 1000 here; strongSwan's is 0): half-open IKE_SAs in total from
   * which on new IKE_SA_INIT requests are dropped; 0 = no limit.
   */
  readonly initLimitHalfOpen?: number;
  /**
   * Key exchange work granted to IKE_SA_INIT requests, in estimated milliseconds of CPU per second
   * (default 250, a quarter of the event loop; 0 = no bound; src/ike/ke-budget.ts lists the estimates). Requests
   * beyond it are dropped.
   */
  readonly keLimitMsPerSec?: number;
  /** Seconds between rotations of the COOKIE secret (default 120). */
  readonly cookieSecretLifetimeSec?: number;
  /** `charon.half_open_timeout` seconds (default 30). */
  readonly halfOpenTimeoutSec?: number;
  /** `charon.prefer_configured_proposals` (default true): as responder, our proposal order wins. */
  readonly preferConfiguredProposals?: boolean;
  /** Largest IKE message in bytes before it is sent as SKF fragments (RFC 7383), when both peers support them. */
  readonly fragmentSizeBytes?: number;
  /** Nonce length in bytes (default 32, RFC 7296 2.10: at least half the PRF key size, 16..256). */
  readonly nonceLength?: number;
  /** Virtual IP pools (swanctl `pools`) that connections with `pools` assign from. */
  readonly pools?: VirtualIpPools;
  /** EAP passwords by EAP identity (swanctl `secrets.eap*`), for both roles. */
  readonly eapPassword?: (identity: string) => string | undefined;
  /** INVALID_IKE_SPI answers to requests for unknown IKE_SAs (RFC 7296 2.21.4) per second (default 10); 0 = none. */
  readonly invalidSpiPerSec?: number;
  /** Answers allowed in a burst after a quiet spell (default 10). */
  readonly invalidSpiBurst?: number;
}

/**
 * The retransmission schedule (RFC 7296 2.1 leaves it to the implementation): 1 s, growing by 1.5 up to 4 s
 * between sends, 15 retransmissions, so a silent peer is given up after about 56 s. strongSwan's defaults
 * (4 s, 1.8, 5 tries) fit only four IKE_AUTH attempts into a responder's 30 s half-open timeout; with a third
 * of the datagrams lost each way an exchange attempt succeeds about half the time, so one set-up in ten
 * would fail. This schedule makes ten attempts in those 30 s (one failure in ~800 set-ups at 30% loss).
 */
export const DEFAULT_RETRANSMIT: RetransmitConfig = { timeoutSec: 1, base: 1.5, tries: 15, limitSec: 4 };

export const DEFAULT_CHILD_LIFETIMES: ChildLifetimes = {
  rekeyTimeSec: 3600,
  lifeTimeSec: 3960,
  randTimeSec: 360,
  rekeyBytes: 0,
  lifeBytes: 0,
  randBytes: 0,
  rekeyPackets: 0,
  lifePackets: 0,
  randPackets: 0,
};

/** A child configuration with strongSwan's defaults for everything not given. */
export function childConfig(c: Partial<ChildConfig> & { name: string }): ChildConfig {
  return {
    protocol: 'esp',
    proposals: ['default'],
    mode: 'tunnel',
    localTs: ['dynamic'],
    remoteTs: ['dynamic'],
    lifetimes: DEFAULT_CHILD_LIFETIMES,
    ...c,
  };
}

/** A connection configuration with strongSwan's defaults for everything not given. */
export function connectionConfig(
  c: Partial<ConnectionConfig> & { name: string; localId: IkeIdentity },
): ConnectionConfig {
  return {
    remoteId: { type: 'any' },
    localAddrs: [{ kind: 'any' }],
    remoteAddrs: [{ kind: 'any' }],
    proposals: ['default'],
    rekeyTimeSec: 14400,
    reauthTimeSec: 0,
    overTimeSec: 1440,
    randTimeSec: 1440,
    dpdDelaySec: 0,
    fragmentation: true,
    childless: 'allow',
    sendInitialContact: true,
    forceEncap: false,
    children: [],
    ...c,
  };
}
