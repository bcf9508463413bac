import { loadSwanctlConf } from '../config/load-swanctl-conf.js';
import { formatDiagnostic } from '../config/config-error.js';
import { parseProposal, ProposalError } from '../ike/proposals.js';
import type { ProposalProtocol } from '../ike/proposals.js';
import { mapSwanctlConfig } from './config-map.js';
import { loadCredentials } from '../pki/credentials.js';
import type { DaemonConfig } from './config-map.js';

/** Proposal strings are checked with the IKE engine's own parser, so an unknown keyword is a load error at file:line. */
export function validateProposal(text: string, kind: ProposalProtocol): string | undefined {
  try {
    parseProposal(text, kind);
    return undefined;
  } catch (e) {
    if (e instanceof ProposalError) return e.message;
    throw e;
  }
}

/**
 * Reads, validates and maps a swanctl.conf file. Throws ConfigError with every finding at file:line:column.
 * A file holding secrets must not be readable by other users; `allowWorldReadableSecrets` (the daemon's
 * TSIPSEC_ALLOW_WORLD_READABLE_SECRETS=1) turns that refusal into a warning, for shared lab configurations.
 */
export function loadDaemonConfig(
  file: string,
  allowWorldReadableSecrets = false,
): { config: DaemonConfig; warnings: string[] } {
  const { config, warnings } = loadSwanctlConf(file, { validateProposal, allowWorldReadableSecrets });
  const mapped = mapSwanctlConfig(config, loadCredentials(file, config, allowWorldReadableSecrets));
  return { config: mapped, warnings: [...warnings, ...mapped.warnings].map(formatDiagnostic) };
}
