/**
 * swanctl.conf `auth = eap-tls` to the engine's EAP-TLS settings. Local round (we are the EAP client): our
 * certificate (`certs`, or one in x509/ carrying our id) and its key; our EAP identity is our IKE identity. Remote
 * round (we are the EAP server): the certificate in x509/ that carries our IKE identity; the peer's EAP identity is
 * its IKE identity (`eap_id` is not read yet). Both trust the CAs of x509ca/.
 */
import type { Diagnostic } from '../config/config-error.js';
import { diagnostic } from '../config/config-error.js';
import type { AuthRound } from '../config/swanctl-model.js';
import { EapType } from '../eap/constants.js';
import type { EapClientConfig, EapServerSettings, IkeIdentity } from '../ike/config.js';
import { formatIdentity } from '../ike/identity.js';
import { mapLocalPubkey, wallClockMs } from '../pki/connection-auth.js';
import type { Credentials } from '../pki/credentials.js';
import { privateKeyFor } from '../pki/credentials.js';
import { certHasIdentity } from '../pki/identity-binding.js';
import { nodeTlsChannel } from '../io/tls-session.js';

const TLS = EapType['EAP-TLS'];

export function isEapTls(round: AuthRound | undefined): boolean {
  return round?.auth.toLowerCase() === 'eap-tls';
}

export function mapEapTls(
  conn: string,
  local: AuthRound | undefined,
  remote: AuthRound | undefined,
  localId: IkeIdentity,
  creds: Credentials | undefined,
  errors: Diagnostic[],
): { eapClient?: EapClientConfig; eapServer?: EapServerSettings } {
  if (creds === undefined) return {};
  const out: { eapClient?: EapClientConfig; eapServer?: EapServerSettings } = {};
  if (local !== undefined && isEapTls(local)) {
    const mine = mapLocalPubkey(conn, local, localId.type === 'any' ? undefined : localId, creds, errors).auth;
    if (mine !== undefined)
      out.eapClient = {
        identity: formatIdentity(localId),
        methods: [TLS],
        tls: {
          credentials: { certs: mine.certs, key: mine.privateKey, cas: creds.cacerts },
          channel: nodeTlsChannel,
          wallClockMs,
        },
      };
  }
  if (remote !== undefined && isEapTls(remote)) {
    const ee = creds.certs.find((c) => certHasIdentity(c, localId) && privateKeyFor(creds, c.publicKey) !== undefined);
    const key = ee === undefined ? undefined : privateKeyFor(creds, ee.publicKey);
    if (ee === undefined || key === undefined)
      errors.push(
        diagnostic(
          remote.origin,
          `'${conn}.${remote.name}' uses auth = eap-tls, but no certificate in x509/ with a private key carries our id '${formatIdentity(localId)}'`,
          'put the EAP-TLS server certificate in x509/ and its key in private/',
        ),
      );
    else
      out.eapServer = {
        methods: [TLS],
        askIdentity: false,
        tls: { credentials: { certs: [ee], key, cas: creds.cacerts }, channel: nodeTlsChannel, wallClockMs },
      };
  }
  return out;
}

type EapSides = { eapClient?: EapClientConfig; eapServer?: EapServerSettings };

/**
 * The EAP mapping of a connection (methods, identities: eap-config.ts) with the TLS credentials of its
 * `auth = eap-tls` rounds added. Without them (`auth = eap`, any method) EAP-TLS is not among the methods: it
 * needs a certificate of ours. A side without EAP stays without.
 */
export function withEapTls(eap: EapSides, tls: EapSides): EapSides {
  const out: EapSides = {};
  const noTls = (methods: readonly number[] | undefined) => methods?.filter((m) => m !== TLS);
  if (eap.eapClient !== undefined) {
    const t = tls.eapClient?.tls;
    const methods = noTls(eap.eapClient.methods);
    out.eapClient =
      t !== undefined
        ? { ...eap.eapClient, tls: t }
        : { ...eap.eapClient, ...(methods !== undefined ? { methods } : {}) };
  }
  if (eap.eapServer !== undefined) {
    const t = tls.eapServer?.tls;
    out.eapServer =
      t !== undefined
        ? { ...eap.eapServer, tls: t }
        : { ...eap.eapServer, methods: noTls(eap.eapServer.methods) ?? [] };
  }
  return out;
}
