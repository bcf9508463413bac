/**
 * The few `charon.*` settings of a strongswan.conf (strongswan.conf(5)) the daemon honours: the limits that
 * keep unauthenticated IKE_SA_INIT requests bounded, the retransmission schedule (which in IKEv2 is also the
 * DPD timeout) and the NAT-keepalive interval. Everything else in the file is left to strongSwan.
 *
 * | strongswan.conf               | daemon / engine                   | default here       |
 * |-------------------------------|-----------------------------------|--------------------|
 * | charon.cookie_threshold       | cookieThreshold                   | 10                 |
 * | charon.block_threshold        | blockThreshold                    | 5                  |
 * | charon.init_limit_half_open   | initLimitHalfOpen                 | 1000               |
 * | charon.retransmit_timeout     | retransmit.timeoutSec             | 1 (DEFAULT_RETRANSMIT) |
 * | charon.retransmit_base        | retransmit.base                   | 1.5                |
 * | charon.retransmit_tries       | retransmit.tries                  | 15                 |
 * | charon.retransmit_limit       | retransmit.limitSec (0 = no cap)  | 4                  |
 * | charon.keep_alive             | keepAliveSec (NAT-keepalives)     | 20                 |
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/config-error.js';
import { readIncludeFromDisk } from '../config/load-swanctl-conf.js';
import { parseSettings } from '../config/settings-parser.js';
import { resolveReferences } from '../config/settings-references.js';
import type { SettingsSection } from '../config/settings-tree.js';
import { parseTimeSec } from '../config/values.js';
import type { RetransmitConfig } from '../ike/config.js';
import { DEFAULT_RETRANSMIT } from '../ike/config.js';

/** strongswan.conf's place on Debian; read when present and no other file is named. */
export const DEFAULT_STRONGSWAN_CONF = '/etc/strongswan.conf';

/** The engine's half-open limits as a strongswan.conf sets them; a setting the file lacks is absent. */
export interface CharonLimits {
  readonly cookieThreshold?: number;
  readonly blockThreshold?: number;
  readonly initLimitHalfOpen?: number;
}

/** Everything the daemon takes from strongswan.conf; a setting the file lacks is absent. */
export interface CharonSettings {
  readonly limits: CharonLimits;
  /** Present when the file sets any `retransmit_*`; the others keep DEFAULT_RETRANSMIT's values. */
  readonly retransmit?: RetransmitConfig;
  /** `keep_alive`: seconds between NAT-keepalives; 0 turns them off. */
  readonly keepAliveSec?: number;
}

const LIMIT_KEYS = {
  cookie_threshold: 'cookieThreshold',
  block_threshold: 'blockThreshold',
  init_limit_half_open: 'initLimitHalfOpen',
} as const;

/** Largest value accepted (a count of half-open IKE_SAs). */
const MAX_LIMIT = 1_000_000;

interface Rule {
  readonly field: keyof RetransmitConfig;
  readonly what: string;
  readonly ok: (n: number) => boolean;
  readonly hint: string;
  readonly parse: (v: string) => number;
}

const DECIMAL = /^\s*\d+(\.\d+)?\s*$/;
const decimal = (v: string): number => (DECIMAL.test(v) ? Number(v) : NaN);
const whole = (v: string): number => (/^\s*\d+\s*$/.test(v) ? Number(v) : NaN);

const RETRANSMIT_KEYS: Readonly<Record<string, Rule>> = {
  retransmit_timeout: {
    field: 'timeoutSec',
    what: 'not a timeout in seconds',
    ok: (n) => n > 0 && n <= 3600,
    hint: 'give seconds above 0 and up to 3600, e.g. 4 or 0.5',
    parse: decimal,
  },
  retransmit_base: {
    field: 'base',
    what: 'not a back-off base',
    ok: (n) => n >= 1 && n <= 10,
    hint: 'give a number 1..10, e.g. 1.8',
    parse: decimal,
  },
  retransmit_tries: {
    field: 'tries',
    what: 'not a count of retransmissions',
    ok: (n) => n <= 100,
    hint: 'give a whole number 0..100',
    parse: whole,
  },
  retransmit_limit: {
    field: 'limitSec',
    what: 'not a limit in seconds',
    ok: (n) => n <= 3600,
    hint: 'give seconds 0..3600 (0 = no cap)',
    parse: decimal,
  },
};

/** Reads the daemon's settings from strongswan.conf text; throws ConfigError with file:line for a bad value. */
export function charonSettings(text: string, file: string): CharonSettings {
  const { root } = parseSettings(text, { filename: file, readInclude: readIncludeFromDisk });
  const charon: SettingsSection | undefined = resolveReferences(root).sections.get('charon');
  if (charon === undefined) return { limits: {} };
  const value = (key: string) => {
    const k = charon.keys.get(key);
    return k === undefined || k.value === null ? undefined : { value: k.value, origin: k.valueOrigin };
  };
  const limits: Record<string, number> = {};
  for (const [key, field] of Object.entries(LIMIT_KEYS)) {
    const k = value(key);
    if (k === undefined) continue;
    const n = Number(k.value);
    if (!/^\d+$/.test(k.value.trim()) || n > MAX_LIMIT)
      throw ConfigError.at(
        k.origin,
        `charon.${key} = ${k.value}: not a count of IKE_SAs`,
        `give a whole number 0..${MAX_LIMIT}`,
      );
    limits[field] = n;
  }
  const retransmit: Record<string, number> = {};
  for (const [key, rule] of Object.entries(RETRANSMIT_KEYS)) {
    const k = value(key);
    if (k === undefined) continue;
    const n = rule.parse(k.value);
    if (!Number.isFinite(n) || !rule.ok(n))
      throw ConfigError.at(k.origin, `charon.${key} = ${k.value}: ${rule.what}`, rule.hint);
    retransmit[rule.field] = n;
  }
  let keepAliveSec: number | undefined;
  const ka = value('keep_alive');
  if (ka !== undefined) {
    try {
      keepAliveSec = parseTimeSec(ka.value);
    } catch {
      keepAliveSec = NaN;
    }
    if (!Number.isFinite(keepAliveSec) || keepAliveSec > 86_400)
      throw ConfigError.at(
        ka.origin,
        `charon.keep_alive = ${ka.value}: not an interval`,
        'give seconds (or with s, m, h), e.g. 20s; 0 turns NAT-keepalives off',
      );
  }
  return {
    limits,
    ...(Object.keys(retransmit).length > 0 ? { retransmit: { ...DEFAULT_RETRANSMIT, ...retransmit } } : {}),
    ...(keepAliveSec !== undefined ? { keepAliveSec } : {}),
  };
}

/** The half-open limits alone (see charonSettings). */
export function charonLimits(text: string, file: string): CharonLimits {
  return charonSettings(text, file).limits;
}

/** Reads `file` (ConfigError when it cannot be read or parsed). */
export function loadCharonSettings(file: string): CharonSettings {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw ConfigError.at({ file, line: 0, column: 0 }, `cannot read: ${(e as Error).message}`);
  }
  return charonSettings(text, file);
}

/** How a retransmission schedule gives up on a silent peer: seconds from the first send to the verdict. */
export function retransmitGiveUpSec(r: RetransmitConfig): number {
  let total = 0;
  for (let n = 0; n <= r.tries; n++) {
    const t = r.timeoutSec * Math.pow(r.base, n);
    total += r.limitSec > 0 ? Math.min(t, r.limitSec) : t;
  }
  return total;
}
