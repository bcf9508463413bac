/**
 * The few `charon.*` settings of a strongswan.conf (strongswan.conf(5)) the daemon honours: the limits that
 * keep unauthenticated IKE_SA_INIT requests bounded. Everything else in the file is left to strongSwan.
 *
 * | strongswan.conf               | engine (src/ike/config.ts) | default here |
 * |-------------------------------|----------------------------|--------------|
 * | charon.cookie_threshold       | cookieThreshold            | 10           |
 * | charon.block_threshold        | blockThreshold             | 5            |
 * | charon.init_limit_half_open   | initLimitHalfOpen          | 1000         |
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/config-error.js';
import { readIncludeFromDisk } from '../config/load-swanctl-conf.js';
import { parseSettings } from '../config/settings-parser.js';
import { resolveReferences } from '../config/settings-references.js';
import type { SettingsSection } from '../config/settings-tree.js';

/** strongswan.conf's place on Debian; read when present and no other file is named. */
export const DEFAULT_STRONGSWAN_CONF = '/etc/strongswan.conf';

/** The engine's half-open limits as a strongswan.conf sets them; a setting the file lacks is absent. */
export interface CharonLimits {
  readonly cookieThreshold?: number;
  readonly blockThreshold?: number;
  readonly initLimitHalfOpen?: number;
}

const KEYS = {
  cookie_threshold: 'cookieThreshold',
  block_threshold: 'blockThreshold',
  init_limit_half_open: 'initLimitHalfOpen',
} as const;

/** Largest value accepted (a count of half-open IKE_SAs). */
const MAX_LIMIT = 1_000_000;

/** Reads the limits from strongswan.conf text; throws ConfigError with file:line for a value that is no count. */
export function charonLimits(text: string, file: string): CharonLimits {
  const { root } = parseSettings(text, { filename: file, readInclude: readIncludeFromDisk });
  const charon: SettingsSection | undefined = resolveReferences(root).sections.get('charon');
  const out: Record<string, number> = {};
  if (charon === undefined) return out;
  for (const [key, field] of Object.entries(KEYS)) {
    const k = charon.keys.get(key);
    if (k === undefined || k.value === null) continue;
    const n = Number(k.value);
    if (!/^\d+$/.test(k.value.trim()) || n > MAX_LIMIT)
      throw ConfigError.at(
        k.valueOrigin,
        `charon.${key} = ${k.value}: not a count of IKE_SAs`,
        `give a whole number 0..${MAX_LIMIT}`,
      );
    out[field] = n;
  }
  return out;
}

/** Reads `file` (ConfigError when it cannot be read or parsed). */
export function loadCharonLimits(file: string): CharonLimits {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw ConfigError.at({ file, line: 0, column: 0 }, `cannot read: ${(e as Error).message}`);
  }
  return charonLimits(text, file);
}
