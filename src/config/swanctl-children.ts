/** children.<child> sections: CHILD_SA configurations (swanctl.conf(5)). */
import type { SettingsSection } from './settings-tree.js';
import { parseTrafficSelector } from './addresses.js';
import { ValueError, parseBytes, parseEnum, parseTimeSec, parseUint, splitList } from './values.js';
import { CHILD_KEYS } from './swanctl-keys.js';
import { keyOriginsOf, type Findings } from './swanctl-findings.js';
import type { ChildConfig, CloseAction, DpdAction, StartAction, TrafficSelector } from './swanctl-model.js';

/** swanctl.conf(5) connections.<conn>.children.<child>.rekey_time [1h]. */
export const DEFAULT_CHILD_REKEY_TIME_SEC = 3600;
/** swanctl.conf(5) children.<child>.replay_window [32]. */
export const DEFAULT_REPLAY_WINDOW = 32;

/** Every child of a connection, in file order. */
export function buildChildren(f: Findings, section: SettingsSection, conn: string): ChildConfig[] {
  for (const key of section.keys.values()) {
    f.error(
      key.origin,
      `key '${key.name}' directly in 'children' of connection '${conn}'`,
      'put it inside a child section',
    );
  }
  return [...section.sections.values()].map((c) => child(f, c, conn));
}

function child(f: Findings, s: SettingsSection, conn: string): ChildConfig {
  const where = `child '${s.name}' of connection '${conn}'`;
  f.checkKeys(s, CHILD_KEYS, where);
  for (const sub of s.sections.values()) {
    f.error(sub.origin, `unexpected section '${sub.name}' in ${where}`, 'children hold keys only');
  }
  // An empty list falls back to dynamic, as an absent key does.
  const ts = (key: string): TrafficSelector[] | undefined => {
    const list = f.read(s, key, (v) => splitList(v).map(parseTrafficSelector));
    return list !== undefined && list.length > 0 ? list : undefined;
  };
  const dynamic = [parseTrafficSelector('dynamic')];
  const mode =
    f.read(s, 'mode', (v) => {
      const m = v.trim().toLowerCase();
      if (m === 'beet' || m === 'transport_proxy') {
        throw new ValueError(`mode ${m} is not supported`, 'use tunnel or transport');
      }
      return parseEnum(v, ['tunnel', 'transport', 'pass', 'drop'] as const);
    }) ?? 'tunnel';
  const ah = f.proposals(s, 'ah_proposals', 'ah') ?? [];
  const esp = f.proposals(s, 'esp_proposals', 'esp') ?? (ah.length > 0 ? [] : [{ text: 'default', origin: s.origin }]);

  // vici_config.c check_lifetimes(): life = rekey * 110 / 100, rand = life - min(life, rekey).
  const lifetimes = (
    rekeyKey: string,
    lifeKey: string,
    randKey: string,
    parse: (v: string) => number,
    rekeyDefault: number,
  ) => {
    const rekey = f.read(s, rekeyKey, parse) ?? rekeyDefault;
    const life = f.read(s, lifeKey, parse) ?? Math.floor((rekey * 110) / 100);
    const rand = f.read(s, randKey, parse) ?? life - Math.min(life, rekey);
    return [rekey, life, rand] as const;
  };
  const packets = (v: string): number => parseUint(v, Number.MAX_SAFE_INTEGER, 'packet count');
  const [rekeyTimeSec, lifeTimeSec, randTimeSec] = lifetimes(
    'rekey_time',
    'life_time',
    'rand_time',
    parseTimeSec,
    DEFAULT_CHILD_REKEY_TIME_SEC,
  );
  const [rekeyBytes, lifeBytes, randBytes] = lifetimes('rekey_bytes', 'life_bytes', 'rand_bytes', parseBytes, 0);
  const [rekeyPackets, lifePackets, randPackets] = lifetimes(
    'rekey_packets',
    'life_packets',
    'rand_packets',
    packets,
    0,
  );

  return {
    name: s.name,
    origin: s.origin,
    keyOrigins: keyOriginsOf(s.keys),
    localTs: ts('local_ts') ?? dynamic,
    remoteTs: ts('remote_ts') ?? dynamic,
    mode,
    espProposals: esp,
    ahProposals: ah,
    rekeyTimeSec,
    lifeTimeSec,
    randTimeSec,
    rekeyBytes,
    lifeBytes,
    randBytes,
    rekeyPackets,
    lifePackets,
    randPackets,
    replayWindow: f.read(s, 'replay_window', (v) => parseUint(v, 0xffffffff, 'window size')) ?? DEFAULT_REPLAY_WINDOW,
    startAction: f.read(s, 'start_action', parseStartAction) ?? 'none',
    dpdAction: f.read(s, 'dpd_action', parseDpdAction) ?? 'clear',
    closeAction: f.read(s, 'close_action', parseCloseAction) ?? 'none',
  };
}

const ACTION_ALIASES: Readonly<Record<string, 'none' | 'trap' | 'start'>> = {
  none: 'none',
  clear: 'none',
  trap: 'trap',
  route: 'trap',
  start: 'start',
  restart: 'start',
};

function parseAction(v: string): 'none' | 'trap' | 'start' | 'trap|start' {
  const parts = v.trim().toLowerCase().split('|');
  const mapped = parts.map((p) => ACTION_ALIASES[p.trim()]);
  if (mapped.some((m) => m === undefined)) {
    throw new ValueError(`'${v}' is not an action`, 'use none, trap or start (trap|start for start_action)');
  }
  const set = new Set(mapped);
  if (set.size === 1) return mapped[0] as 'none' | 'trap' | 'start';
  if (set.size === 2 && set.has('trap') && set.has('start')) return 'trap|start';
  throw new ValueError(`'${v}' combines actions that cannot go together`, 'only trap|start may be combined');
}

function parseStartAction(v: string): StartAction {
  return parseAction(v);
}

function parseDpdAction(v: string): DpdAction {
  const a = parseAction(v);
  if (a === 'trap|start') throw new ValueError(`'${v}' is not a dpd_action`, 'use clear, trap or restart');
  return a === 'none' ? 'clear' : a === 'start' ? 'restart' : 'trap';
}

function parseCloseAction(v: string): CloseAction {
  const a = parseAction(v);
  if (a === 'trap|start') throw new ValueError(`'${v}' is not a close_action`, 'use none, trap or start');
  return a;
}
