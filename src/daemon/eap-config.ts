/**
 * EAP in swanctl.conf (RFC 7296 2.16) to what the engine runs: `local.auth = eap-<method>` makes us an EAP client
 * (ConnectionConfig.eapClient), `remote.auth = eap-<method>` an EAP server (eapServer), `eap_id` names the
 * identities, and `secrets.eap<suffix>` / `xauth<suffix>` hold the passwords. Methods are looked up by name in
 * src/eap/method-names.ts and must be available in this build (hasServerMethod / hasPeerMethod), so a new method
 * needs no change here. Bad combinations are diagnostics at the key's file:line.
 */
import type { Diagnostic } from '../config/config-error.js';
import { diagnostic } from '../config/config-error.js';
import type { AuthRound, EapSecret, IkeConnection, SwanctlConfig } from '../config/swanctl-model.js';
import { hasPeerMethod } from '../eap/eap-peer.js';
import { hasServerMethod } from '../eap/eap-server.js';
import { EAP_METHOD_NAMES, eapMethodByName } from '../eap/method-names.js';
import type { EapMethodName } from '../eap/method-names.js';
import type { EapClientConfig, EapServerSettings } from '../ike/config.js';

export type EapPasswordLookup = (identity: string) => string | undefined;

/**
 * The password of an EAP identity: a secret naming it in an id<suffix> key beats one without ids (which applies to
 * every identity, as in strongSwan); among equals the first in the file wins.
 */
export function eapPasswordLookup(secrets: readonly EapSecret[]): EapPasswordLookup {
  return (identity) => {
    const named = secrets.find((s) => s.ids.includes(identity));
    const any = named ?? secrets.find((s) => s.ids.length === 0 || s.ids.includes('%any'));
    return any === undefined ? undefined : Buffer.from(any.secret).toString('utf8');
  };
}

const names = (ms: readonly EapMethodName[]): string => ms.map((m) => `eap-${m.name}`).join(', ');

/**
 * The methods of `auth = eap[-<method>[:constraints]]` that `available` runs; `eap` alone means all of them, in the
 * registry's order of preference. Undefined (with a diagnostic) when the method is unknown or not available.
 */
function methodsOf(
  round: AuthRound,
  where: string,
  available: (type: number) => boolean,
  errors: Diagnostic[],
): EapMethodName[] | undefined {
  const origin = round.keyOrigins['auth'] ?? round.origin;
  const usable = EAP_METHOD_NAMES.filter((m) => available(m.type));
  const [text = round.auth, constraints] = round.auth.split(':');
  if (constraints !== undefined) {
    // Ignoring them would accept more peers.
    errors.push(
      diagnostic(
        origin,
        `auth = ${round.auth} in ${where}: trust chain constraints after ':' are not supported`,
        `write auth = ${text}`,
      ),
    );
    return undefined;
  }
  if (text.toLowerCase() === 'eap') return usable;
  const method = eapMethodByName(text.slice('eap-'.length));
  if (method === undefined) {
    errors.push(
      diagnostic(origin, `auth = ${round.auth} in ${where}: unknown EAP method`, `use one of ${names(usable)} or eap`),
    );
    return undefined;
  }
  if (!available(method.type)) {
    errors.push(
      diagnostic(
        origin,
        `auth = ${round.auth} in ${where}: EAP-${method.name.toUpperCase()} is not available in this version`,
        `use one of ${names(usable)}`,
      ),
    );
    return undefined;
  }
  return [method];
}

export interface EapMapping {
  readonly eapClient?: EapClientConfig;
  readonly eapServer?: EapServerSettings;
}

/**
 * The EAP part of connection `c`: `local`/`remote` are its rounds, `localIdText` our IKE identity as text (the
 * default EAP identity). Pushes diagnostics for: EAP on both sides, an EAP client without a password, an EAP server
 * without any password to check against, `eap_id = %any` on our side.
 */
export function mapEap(
  c: IkeConnection,
  local: AuthRound | undefined,
  remote: AuthRound | undefined,
  localIdText: string,
  config: SwanctlConfig,
  errors: Diagnostic[],
): EapMapping {
  const secrets = config.eapSecrets ?? [];
  const password = eapPasswordLookup(secrets);
  const out: { eapClient?: EapClientConfig; eapServer?: EapServerSettings } = {};
  if (local?.authClass === 'eap' && remote?.authClass === 'eap') {
    errors.push(
      diagnostic(
        remote.origin,
        `'${c.name}' uses EAP on both sides`,
        'the EAP client sets local.auth = eap-*, and remote.auth = pubkey (or psk) for the gateway; the gateway the opposite',
      ),
    );
    return out;
  }
  if (local?.authClass === 'eap') {
    const where = `'${c.name}.${local.name}'`;
    const methods = methodsOf(local, where, hasPeerMethod, errors);
    const idOrigin = local.keyOrigins['eap_id'] ?? local.origin;
    if (local.eapId === '%any')
      errors.push(diagnostic(idOrigin, `eap_id = %any in ${where}`, 'our own EAP identity must be a name'));
    const identity = local.eapId ?? localIdText;
    if (methods === undefined) return out;
    if (methods.some((m) => m.credential === 'password') && password(identity) === undefined)
      errors.push(
        diagnostic(
          local.eapId !== undefined ? idOrigin : local.origin,
          `no EAP secret for '${identity}', the EAP identity of ${where}`,
          `add secrets { eap-NAME { id = ${identity}, secret = "..." } }`,
        ),
      );
    out.eapClient = { identity, methods: methods.map((m) => m.type) };
  }
  if (remote?.authClass === 'eap') {
    const where = `'${c.name}.${remote.name}'`;
    const methods = methodsOf(remote, where, hasServerMethod, errors);
    if (methods === undefined) return out;
    const eapId = remote.eapId;
    const named = eapId !== undefined && eapId !== '%any' ? eapId : undefined;
    if (methods.some((m) => m.credential === 'password')) {
      if (secrets.length === 0)
        errors.push(
          diagnostic(
            remote.origin,
            `${where} checks EAP passwords, but there is no secrets.eap* section`,
            'add secrets { eap-NAME { id = USER, secret = "..." } } for each user',
          ),
        );
      else if (named !== undefined && password(named) === undefined)
        errors.push(
          diagnostic(
            remote.keyOrigins['eap_id'] ?? remote.origin,
            `no EAP secret for '${named}', the eap_id of ${where}`,
            `add secrets { eap-NAME { id = ${named}, secret = "..." } }`,
          ),
        );
    }
    out.eapServer = {
      methods: methods.map((m) => m.type),
      askIdentity: eapId !== undefined,
      ...(named !== undefined ? { identity: named } : {}),
    };
  }
  return out;
}
