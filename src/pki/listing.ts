/** Certificate fields of `sas --json` and `conns --json` (src/control/schema.ts): only added when present. */
import type { CertificateInfo } from '../control/schema.js';
import type { ConnectionConfig } from '../ike/config.js';
import type { IkeSa } from '../ike/sa.js';

export function saCertificates(sa: IkeSa): { localCert?: CertificateInfo; remoteCert?: CertificateInfo } {
  return {
    ...(sa.localCert !== undefined ? { localCert: sa.localCert.summary() } : {}),
    ...(sa.peerCert !== undefined ? { remoteCert: sa.peerCert.summary() } : {}),
  };
}

export function connectionCertificates(c: ConnectionConfig): {
  localCerts?: CertificateInfo[];
  remoteCacerts?: CertificateInfo[];
} {
  return {
    ...(c.localAuth !== undefined && c.localAuth.certs.length > 0
      ? { localCerts: c.localAuth.certs.map((x) => x.summary()) }
      : {}),
    ...(c.remoteAuth !== undefined ? { remoteCacerts: c.remoteAuth.cacerts.map((x) => x.summary()) } : {}),
  };
}
