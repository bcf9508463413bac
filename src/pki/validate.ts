/**
 * Trust-chain validation for a peer's end-entity certificate (RFC 5280 6.1, the parts IKE needs): a path through
 * the supplied intermediates to a configured trust anchor, every certificate's signature, validity at `nowMs`,
 * CA basic constraints with path length, key usage (keyCertSign on CAs, digitalSignature on the end entity).
 * Pure: the caller passes the time.
 */
import { KeyUsageBit } from './certificate.js';
import type { X509Cert } from './certificate.js';

/** Longest chain followed, trust anchor included. */
const MAX_CHAIN = 8;

export type ChainResult =
  | { readonly ok: true; readonly chain: readonly X509Cert[]; readonly anchor: X509Cert }
  | { readonly ok: false; readonly reason: string };

function validity(c: X509Cert, nowMs: number): string | undefined {
  if (nowMs < c.notBeforeMs)
    return `certificate '${c.subjectText}' is not valid before ${new Date(c.notBeforeMs).toISOString()}`;
  if (nowMs > c.notAfterMs) return `certificate '${c.subjectText}' expired at ${new Date(c.notAfterMs).toISOString()}`;
  return undefined;
}

function caProblem(ca: X509Cert, below: number): string | undefined {
  if (!ca.isCa) return `issuer '${ca.subjectText}' is not a CA (basicConstraints cA is not set)`;
  if (!ca.allows(KeyUsageBit.keyCertSign)) return `CA '${ca.subjectText}' key usage does not allow keyCertSign`;
  if (ca.pathLen !== undefined && below > ca.pathLen)
    return `CA '${ca.subjectText}' allows a path length of ${ca.pathLen}, but ${below} intermediate CA(s) follow it`;
  return undefined;
}

/**
 * Build and check the chain `endEntity` -> intermediates... -> anchor. `intermediates` may hold unrelated
 * certificates (all the peer sent, plus locally known ones); `anchors` are the trusted CA certificates.
 */
export function validateChain(
  endEntity: X509Cert,
  intermediates: readonly X509Cert[],
  anchors: readonly X509Cert[],
  nowMs: number,
): ChainResult {
  if (anchors.length === 0) return { ok: false, reason: 'no trusted CA certificate is configured for this peer' };
  const eeProblem = validity(endEntity, nowMs);
  if (eeProblem !== undefined) return { ok: false, reason: eeProblem };
  if (!endEntity.allows(KeyUsageBit.digitalSignature))
    return { ok: false, reason: `certificate '${endEntity.subjectText}' key usage does not allow digitalSignature` };
  const chain: X509Cert[] = [endEntity];
  let current = endEntity;
  // The end entity may itself be a configured anchor (a pinned self-signed peer certificate).
  if (anchors.some((a) => a.der.equals(endEntity.der))) return { ok: true, chain, anchor: endEntity };
  for (let depth = 0; depth < MAX_CHAIN; depth++) {
    const cas = chain.length - 1; // intermediate CAs below the issuer we look for
    const anchor = anchors.find((a) => current.signedBy(a));
    if (anchor !== undefined) {
      const p = validity(anchor, nowMs) ?? caProblem(anchor, cas);
      if (p !== undefined) return { ok: false, reason: p };
      return { ok: true, chain, anchor };
    }
    const next = intermediates.find((c) => !chain.includes(c) && !c.der.equals(current.der) && current.signedBy(c));
    if (next === undefined) {
      const known = anchors.map((a) => `'${a.subjectText}'`).join(', ');
      return {
        ok: false,
        reason: `no trusted CA issued '${current.subjectText}' (issuer '${current.issuerText}'; trusted: ${known})`,
      };
    }
    const p = validity(next, nowMs) ?? caProblem(next, cas);
    if (p !== undefined) return { ok: false, reason: p };
    chain.push(next);
    current = next;
  }
  return { ok: false, reason: `certificate chain of '${endEntity.subjectText}' is longer than ${MAX_CHAIN}` };
}
