/**
 * From the swanctl.conf model to what the daemon runs: IKE engine connections (src/ike/config.ts), the
 * outer addresses and ports to use, the pass/drop policies, and the PSK lookup over `secrets`.
 * Everything this project does not do yet is refused here with the file:line of the key.
 */
import type { Origin } from '../config/config-error.js';
import { ConfigError, diagnostic } from '../config/config-error.js';
import type { Diagnostic } from '../config/config-error.js';
import type {
  AddressPoolConfig,
  AddressSpec,
  ChildConfig as SwanChild,
  IkeConnection,
  SwanctlConfig,
} from '../config/swanctl-model.js';
import type { ChildConfig, ConnectionConfig, IkeIdentity } from '../ike/config.js';
import { childConfig, connectionConfig } from '../ike/config.js';
import { formatIdentity, identityMatches } from '../ike/identity.js';
import { eapPasswordLookup, mapEap } from './eap-config.js';
import type { EapPasswordLookup } from './eap-config.js';
import { IdentityError, parseIdentityText } from './identity-text.js';
import type { Credentials } from '../pki/credentials.js';
import { DnError, dnIdentity, mapLocalPubkey, mapRemotePubkey } from '../pki/connection-auth.js';
import { looksLikeDn } from '../pki/dn.js';
import { isEapTls, mapEapTls, withEapTls } from './eap-tls-config.js';

/** A connection as the daemon runs it. */
export interface DaemonConnection {
  readonly ike: ConnectionConfig;
  readonly source: IkeConnection;
  /** Concrete local/remote addresses (the first usable of local_addrs / remote_addrs), or undefined for %any. */
  readonly localAddr: string | undefined;
  readonly remoteAddr: string | undefined;
  readonly localPort: number;
  readonly remotePort: number;
  /** Children with mode pass/drop: policies only, no IKE. */
  readonly shunts: readonly SwanChild[];
  /** Children negotiated by IKE, by name, with their swanctl settings (start_action, replay_window, ...). */
  readonly children: ReadonlyMap<string, SwanChild>;
}

export interface DaemonConfig {
  readonly connections: readonly DaemonConnection[];
  /** Settings accepted but not acted on, with file:line. */
  readonly warnings: readonly Diagnostic[];
  readonly psk: (local: IkeIdentity, remote: IkeIdentity) => Uint8Array | undefined;
  /** The password of an EAP identity (swanctl `secrets.eap*`), for EAP client and server. */
  readonly eapPassword: EapPasswordLookup;
  /** swanctl.conf `pools`: the virtual IP pools gateways hand addresses out of (src/pools). */
  readonly pools: readonly AddressPoolConfig[];
}

function firstAddress(specs: readonly AddressSpec[]): string | undefined {
  for (const s of specs) if (s.kind === 'address') return s.address;
  return undefined;
}

/** An identity string, distinguished names included. */
function identityText(text: string): IkeIdentity {
  return looksLikeDn(text) ? dnIdentity(text) : parseIdentityText(text);
}

function identity(text: string, origin: Origin, errors: Diagnostic[]): IkeIdentity {
  try {
    return identityText(text);
  } catch (e) {
    if (!(e instanceof IdentityError) && !(e instanceof DnError)) throw e;
    errors.push(diagnostic(origin, e.message));
    return { type: 'any' };
  }
}

function mapChild(c: SwanChild): ChildConfig {
  const ah = c.ahProposals.length > 0 && c.espProposals.length === 0;
  return childConfig({
    name: c.name,
    protocol: ah ? 'ah' : 'esp',
    proposals: (ah ? c.ahProposals : c.espProposals).map((p) => p.text),
    mode: c.mode === 'transport' ? 'transport' : 'tunnel',
    localTs: c.localTs.map((t) => t.text),
    remoteTs: c.remoteTs.map((t) => t.text),
    lifetimes: {
      rekeyTimeSec: c.rekeyTimeSec,
      lifeTimeSec: c.lifeTimeSec,
      randTimeSec: c.randTimeSec,
      rekeyBytes: c.rekeyBytes,
      lifeBytes: c.lifeBytes,
      randBytes: c.randBytes,
      rekeyPackets: c.rekeyPackets,
      lifePackets: c.lifePackets,
      randPackets: c.randPackets,
    },
  });
}

function mapConnection(
  c: IkeConnection,
  config: SwanctlConfig,
  errors: Diagnostic[],
  warnings: Diagnostic[],
  creds?: Credentials,
): DaemonConnection {
  if (c.version === 1)
    errors.push(
      diagnostic(
        c.origin,
        `connection '${c.name}' asks for IKEv1 (version = 1)`,
        'this project speaks IKEv2 only: set version = 2 or 0',
      ),
    );
  const local = c.local[0];
  const remote = c.remote[0];
  for (const round of [...c.local, ...c.remote]) {
    if (round.authClass === 'xauth')
      errors.push(
        diagnostic(
          round.origin,
          `auth = ${round.auth} in '${c.name}.${round.name}': XAuth is IKEv1 only and not supported`,
          'use auth = eap-mschapv2 for user names and passwords, or psk or pubkey',
        ),
      );
    else if ((round.authClass === 'pubkey' || isEapTls(round)) && creds === undefined)
      errors.push(
        diagnostic(
          round.origin,
          `auth = ${round.auth} in '${c.name}.${round.name}' needs the credential folders, which were not loaded`,
        ),
      );
  }
  if (c.local.length > 1 || c.remote.length > 1) {
    const extra = c.local[1] ?? c.remote[1];
    if (extra)
      errors.push(
        diagnostic(
          extra.origin,
          `multiple authentication rounds (RFC 4739) are not supported`,
          `keep one local and one remote section`,
        ),
      );
  }
  const localAddr = firstAddress(c.localAddrs);
  const remoteAddr = firstAddress(c.remoteAddrs);
  let localId: IkeIdentity;
  const localPubkey =
    local?.authClass === 'pubkey' && creds !== undefined
      ? mapLocalPubkey(
          c.name,
          local,
          local.id !== undefined ? identity(local.id, local.origin, errors) : undefined,
          creds,
          errors,
        )
      : undefined;
  if (localPubkey?.id !== undefined) localId = localPubkey.id;
  else if (local?.id !== undefined) localId = identity(local.id, local.origin, errors);
  else if (localAddr !== undefined) localId = parseIdentityText(localAddr);
  else {
    localId = { type: 'any' };
    errors.push(
      diagnostic(
        local?.origin ?? c.origin,
        `connection '${c.name}' has no local id and no concrete local_addrs`,
        'set local.id or a local_addrs address',
      ),
    );
  }
  const remoteId = remote?.id !== undefined ? identity(remote.id, remote.origin, errors) : ({ type: 'any' } as const);
  const remoteAuth =
    remote?.authClass === 'pubkey' && creds !== undefined ? mapRemotePubkey(c.name, remote, creds, errors) : undefined;
  const eap = mapEap(c, local, remote, formatIdentity(localId), config, errors);
  const eapTls = mapEapTls(c.name, local, remote, localId, creds, errors);
  const ikeChildren = c.children.filter((ch) => ch.mode === 'tunnel' || ch.mode === 'transport');
  const ike = connectionConfig({
    name: c.name,
    localId,
    remoteId,
    localAddrs: c.localAddrs,
    remoteAddrs: c.remoteAddrs,
    proposals: c.proposals.map((p) => p.text),
    rekeyTimeSec: c.rekeyTimeSec,
    reauthTimeSec: c.reauthTimeSec,
    overTimeSec: c.overTimeSec,
    randTimeSec: c.randTimeSec,
    dpdDelaySec: c.dpdDelaySec,
    fragmentation: c.fragmentation !== 'no',
    sendInitialContact: c.unique !== 'never',
    forceEncap: c.encap,
    mobike: c.mobike,
    children: ikeChildren.map(mapChild),
    ...(c.vips.length > 0 ? { vips: c.vips.map((v) => v.address) } : {}),
    ...(c.pools.length > 0 ? { pools: c.pools } : {}),
    ...(localPubkey?.auth !== undefined ? { localAuth: localPubkey.auth } : {}),
    ...(remoteAuth !== undefined ? { remoteAuth } : {}),
    sendCert: c.sendCert,
    sendCertreq: c.sendCertreq,
    ...withEapTls(eap, eapTls),
  });
  return {
    ike,
    source: c,
    localAddr,
    remoteAddr,
    localPort: c.localPort,
    remotePort: c.remotePort,
    shunts: c.children.filter((ch) => ch.mode === 'pass' || ch.mode === 'drop'),
    children: new Map(ikeChildren.map((ch) => [ch.name, ch])),
  };
}

/**
 * strongSwan's shared-key lookup: a secret whose ids match both identities beats one matching the remote,
 * which beats one matching ours, which beats one with no ids at all (a wildcard).
 */
export function pskLookup(config: SwanctlConfig): (local: IkeIdentity, remote: IkeIdentity) => Uint8Array | undefined {
  const secrets = config.secrets.map((s) => ({ secret: s.secret, ids: s.ids.map(identityText) }));
  return (local, remote) => {
    let best: Uint8Array | undefined;
    let bestScore = -1;
    for (const s of secrets) {
      let score: number;
      if (s.ids.length === 0) score = 0;
      else {
        const l = s.ids.some((id) => id.type !== 'any' && identityMatches(id, local));
        const r = s.ids.some((id) => id.type !== 'any' && identityMatches(id, remote));
        const any = s.ids.some((id) => id.type === 'any');
        if (!l && !r && !any) continue;
        score = (l ? 1 : 0) + (r ? 2 : 0) + (any ? 0.5 : 0);
      }
      if (score > bestScore) {
        best = s.secret;
        bestScore = score;
      }
    }
    return best;
  };
}

/** Maps the whole configuration; throws one ConfigError listing every unsupported setting. */
export function mapSwanctlConfig(config: SwanctlConfig, creds?: Credentials): DaemonConfig {
  const errors: Diagnostic[] = [...(creds?.errors ?? [])];
  const warnings: Diagnostic[] = [...(creds?.warnings ?? [])];
  const connections = config.connections.map((c) => mapConnection(c, config, errors, warnings, creds));
  for (const s of config.secrets)
    for (const id of s.ids) {
      try {
        identityText(id);
      } catch (e) {
        if (e instanceof IdentityError || e instanceof DnError)
          errors.push(diagnostic(s.origin, `secret '${s.name}': ${e.message}`));
        else throw e;
      }
    }
  if (errors.length > 0) throw new ConfigError(errors);
  return {
    connections,
    pools: config.pools,
    psk: pskLookup(config),
    eapPassword: eapPasswordLookup(config.eapSecrets ?? []),
    warnings,
  };
}
