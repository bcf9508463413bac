/**
 * swanctl.conf(5) to the typed model: `parseSwanctlConf(text, options)` is pure (includes are read through
 * `options.readInclude`); load-swanctl-conf.ts adds the file system and the permission check.
 *
 * Defaults, as swanctl.conf(5) of strongSwan 5.9.8 documents them (value in brackets after each key there) and as
 * its vici plugin (vici_config.c) computes the derived ones:
 *   version 0 (initiate IKEv2, accept any), local_addrs/remote_addrs %any, local_port/remote_port 500,
 *   proposals/esp_proposals `default` (no ESP default when only ah_proposals is given), encap no, mobike yes,
 *   dpd_delay 0s, dpd_timeout 0s, fragmentation yes, unique no, keyingtries 1, reauth_time 0s,
 *   rekey_time 4h (0 when only reauth_time is set), over_time 10% of the longer of rekey_time and reauth_time,
 *   rand_time over_time but at most half of rekey_time/reauth_time (the shorter one when both are set),
 *   remote id %any, auth pubkey;
 *   children: local_ts/remote_ts dynamic, mode tunnel, rekey_time 1h, life_time rekey_time + 10%,
 *   rand_time life_time - rekey_time, rekey_bytes/rekey_packets 0, life_bytes/life_packets rekey + 10%,
 *   rand_bytes/rand_packets life - rekey, replay_window 32, start_action none, dpd_action clear, close_action none.
 */
import { ConfigError, diagnostic, type Diagnostic, type Origin } from './config-error.js';
import { parseSettings, type ReadInclude } from './settings-parser.js';
import { referencedNames, resolveReferences } from './settings-references.js';
import type { SettingsKey, SettingsSection } from './settings-tree.js';
import { didYouMean } from './suggest.js';
import { parseAddressSpec, parseTrafficSelector } from './addresses.js';
import {
  ValueError,
  parseBool,
  parseBytes,
  parseEnum,
  parseSecret,
  parseTimeSec,
  parseUint,
  splitList,
} from './values.js';
import {
  AUTH_KEYS,
  CHILD_KEYS,
  CONNECTION_KEYS,
  IKE_SECRET_KEYS,
  SECRET_TYPES,
  TOP_LEVEL_SECTIONS,
  type KeyRule,
} from './swanctl-keys.js';
import type {
  AddressSpec,
  AuthClass,
  AuthRound,
  ChildConfig,
  CloseAction,
  DpdAction,
  IkeConnection,
  IkeSecret,
  ProposalText,
  StartAction,
  SwanctlConfig,
  SwanctlParseResult,
  TrafficSelector,
  ValidateProposal,
} from './swanctl-model.js';

export interface SwanctlParseOptions {
  /** Name used in messages and as the base for relative includes. */
  readonly filename: string;
  readonly readInclude?: ReadInclude;
  /** Checks each proposal; an error message it returns is reported at the key's file:line. */
  readonly validateProposal?: ValidateProposal;
}

/** strongSwan's IKE_SA rekey default, swanctl.conf(5) connections.<conn>.rekey_time [4h]. */
export const DEFAULT_IKE_REKEY_TIME_SEC = 4 * 3600;
/** swanctl.conf(5) connections.<conn>.children.<child>.rekey_time [1h]. */
export const DEFAULT_CHILD_REKEY_TIME_SEC = 3600;
/** swanctl.conf(5) children.<child>.replay_window [32]. */
export const DEFAULT_REPLAY_WINDOW = 32;
/** swanctl.conf(5) local_port/remote_port [500]. */
export const DEFAULT_IKE_PORT = 500;

/** Parse swanctl.conf text into the model. Throws ConfigError listing every error found. */
export function parseSwanctlConf(text: string, options: SwanctlParseOptions): SwanctlParseResult {
  const settingsOptions =
    options.readInclude === undefined
      ? { filename: options.filename }
      : { filename: options.filename, readInclude: options.readInclude };
  const parsed = parseSettings(text, settingsOptions);
  const root = resolveReferences(parsed.root);
  const b = new Builder(options.validateProposal, referencedNames(parsed.root));
  b.warnings.push(...parsed.warnings);
  const config = b.build(root, parsed.files);
  if (b.errors.length > 0) throw new ConfigError(sortByPlace(b.errors, parsed.files));
  return { config: deepFreeze(config), warnings: Object.freeze(sortByPlace(b.warnings, parsed.files)) };
}

class Builder {
  readonly errors: Diagnostic[] = [];
  readonly warnings: Diagnostic[] = [];
  private readonly validateProposal: ValidateProposal | undefined;
  /** Sections used as templates through references: no warning when they sit outside the known sections. */
  private readonly referenced: ReadonlySet<string>;
  constructor(validateProposal: ValidateProposal | undefined, referenced: ReadonlySet<string>) {
    this.validateProposal = validateProposal;
    this.referenced = referenced;
  }

  private isTemplate(name: string): boolean {
    for (const r of this.referenced) if (r === name || r.startsWith(`${name}.`)) return true;
    return false;
  }

  build(root: SettingsSection, files: readonly string[]): SwanctlConfig {
    for (const key of root.keys.values()) {
      this.warn(key.origin, `top-level key '${key.name}' is ignored`, 'swanctl.conf only reads sections here');
    }
    let connections: IkeConnection[] = [];
    let secrets: IkeSecret[] = [];
    const secretOrigins: Origin[] = [];
    for (const section of root.sections.values()) {
      if (section.name === 'connections') connections = this.connections(section);
      else if (section.name === 'secrets') secrets = this.secrets(section, secretOrigins);
      else if (section.name === 'pools' || section.name === 'authorities') {
        this.warn(section.origin, `section '${section.name}' is ignored`, `${section.name} are not supported yet`);
      } else if (!this.isTemplate(section.name)) {
        const hint = didYouMean(section.name, TOP_LEVEL_SECTIONS);
        if (hint !== undefined) this.error(section.origin, `unknown section '${section.name}'`, hint);
        else this.warn(section.origin, `unknown section '${section.name}' is ignored`, 'strongSwan ignores it too');
      }
    }
    return { connections, secrets, files: [...files], secretOrigins };
  }

  // ---- connections ------------------------------------------------------------------------------------------

  private connections(section: SettingsSection): IkeConnection[] {
    for (const key of section.keys.values()) {
      this.warn(key.origin, `key '${key.name}' directly in 'connections' is ignored`, 'put it inside a connection');
    }
    return [...section.sections.values()].map((c) => this.connection(c));
  }

  private connection(s: SettingsSection): IkeConnection {
    const where = `connection '${s.name}'`;
    this.checkKeys(s, CONNECTION_KEYS, where);
    const local: SettingsSection[] = [];
    const remote: SettingsSection[] = [];
    let children: ChildConfig[] = [];
    for (const sub of s.sections.values()) {
      if (sub.name.startsWith('local')) local.push(sub);
      else if (sub.name.startsWith('remote')) remote.push(sub);
      else if (sub.name === 'children') children = this.children(sub, s.name);
      else {
        this.error(
          sub.origin,
          `unknown section '${sub.name}' in ${where}`,
          didYouMean(sub.name, ['local', 'remote', 'children']) ??
            'a connection holds local<suffix>, remote<suffix> and children sections',
        );
      }
    }

    let version = this.read(s, 'version', (v) => parseUint(v, 2, 'IKE version') as 0 | 1 | 2) ?? 0;
    if (version === 1) {
      this.error(s.keys.get('version')?.valueOrigin ?? s.origin, 'IKEv1 is not supported', 'use version = 2');
      version = 2;
    }
    // An empty list leaves strongSwan's default (%any) in place, as an absent key does.
    const addrs = (key: string): AddressSpec[] => {
      const list = this.read(s, key, (v) => splitList(v).map(parseAddressSpec));
      return list !== undefined && list.length > 0 ? list : [{ kind: 'any' }];
    };
    const localAddrs = addrs('local_addrs');
    const remoteAddrs = addrs('remote_addrs');
    const port = (key: string): number => {
      const p = this.read(s, key, (v) => parseUint(v, 65535, 'port')) ?? 0;
      return p === 0 ? DEFAULT_IKE_PORT : p;
    };
    const dpdTimeoutSec = this.read(s, 'dpd_timeout', parseTimeSec) ?? 0;
    if (dpdTimeoutSec !== 0) {
      this.warn(
        s.keys.get('dpd_timeout')?.origin ?? s.origin,
        'dpd_timeout has no effect with IKEv2',
        'IKEv2 uses the retransmission timeouts to declare a peer dead (swanctl.conf(5))',
      );
    }

    // Lifetimes: vici_config.c applies 4h only when neither rekey_time nor reauth_time is given.
    const rekeyGiven = this.read(s, 'rekey_time', parseTimeSec);
    const reauthGiven = this.read(s, 'reauth_time', parseTimeSec);
    const rekeyTimeSec = rekeyGiven ?? (reauthGiven === undefined ? DEFAULT_IKE_REKEY_TIME_SEC : 0);
    const reauthTimeSec = reauthGiven ?? 0;
    const overTimeSec =
      this.read(s, 'over_time', parseTimeSec) ?? Math.floor(Math.max(rekeyTimeSec, reauthTimeSec) / 10);
    const randBase =
      rekeyTimeSec !== 0 && reauthTimeSec !== 0
        ? Math.min(rekeyTimeSec, reauthTimeSec)
        : Math.max(rekeyTimeSec, reauthTimeSec);
    const randTimeSec = this.read(s, 'rand_time', parseTimeSec) ?? Math.min(overTimeSec, Math.floor(randBase / 2));

    const initiates = children.some((c) => c.mode !== 'pass' && c.mode !== 'drop' && initiating(c));
    if (initiates && !remoteAddrs.some((a) => a.kind === 'address' || a.kind === 'dns')) {
      this.warn(
        s.keys.get('remote_addrs')?.origin ?? s.origin,
        `connection '${s.name}' has children that initiate (start, trap or restart actions) but no specific remote address`,
        'set remote_addrs to an address or DNS name; swanctl.conf(5) requires one to initiate',
      );
    }

    return {
      name: s.name,
      origin: s.origin,
      version,
      localAddrs,
      remoteAddrs,
      localPort: port('local_port'),
      remotePort: port('remote_port'),
      proposals: this.proposals(s, 'proposals', 'ike') ?? [{ text: 'default', origin: s.origin }],
      encap: this.read(s, 'encap', parseBool) ?? false,
      mobike: this.read(s, 'mobike', parseBool) ?? true,
      dpdDelaySec: this.read(s, 'dpd_delay', parseTimeSec) ?? 0,
      dpdTimeoutSec,
      rekeyTimeSec,
      reauthTimeSec,
      overTimeSec,
      randTimeSec,
      fragmentation:
        this.read(s, 'fragmentation', (v) => parseEnum(v, ['yes', 'accept', 'force', 'no'] as const)) ?? 'yes',
      unique: this.read(s, 'unique', (v) => parseEnum(v, ['no', 'never', 'keep', 'replace'] as const)) ?? 'no',
      keyingtries: this.read(s, 'keyingtries', (v) => parseUint(v, 0xffffffff, 'count')) ?? 1,
      local: this.rounds(local, 'local', s),
      remote: this.rounds(remote, 'remote', s),
      children,
    };
  }

  private proposals(s: SettingsSection, key: string, kind: 'ike' | 'esp' | 'ah'): ProposalText[] | undefined {
    const k = s.keys.get(key);
    if (k === undefined || k.value === null) return undefined;
    const items = splitList(k.value);
    if (items.length === 0) {
      this.error(k.valueOrigin, `${key} is empty`, `write proposals separated by commas, or remove the key`);
      return undefined;
    }
    for (const p of items) {
      const problem = this.validateProposal?.(p, kind);
      if (problem !== undefined) this.error(k.valueOrigin, `${key}: '${p}': ${problem}`, 'see man swanctl.conf');
    }
    return items.map((text) => ({ text, origin: k.valueOrigin }));
  }

  // ---- authentication rounds --------------------------------------------------------------------------------

  private rounds(sections: SettingsSection[], side: 'local' | 'remote', conn: SettingsSection): AuthRound[] {
    if (sections.length === 0) {
      this.warn(
        conn.origin,
        `connection '${conn.name}' has no ${side} section, so strongSwan's default auth = pubkey applies`,
        `add ${side} { auth = psk ... } (public key authentication is not implemented yet)`,
      );
      return [this.defaultRound(side, conn.origin)];
    }
    const rounds = sections.map((sec, position) => ({ r: this.round(sec, side, position), position }));
    rounds.sort((a, b) => a.r.round - b.r.round || a.position - b.position);
    return rounds.map((x) => x.r);
  }

  private defaultRound(side: 'local' | 'remote', origin: Origin): AuthRound {
    return {
      name: side,
      origin,
      round: 0,
      auth: 'pubkey',
      authClass: 'pubkey',
      id: side === 'remote' ? '%any' : undefined,
      certs: [],
      pubkeys: [],
      cacerts: [],
    };
  }

  private round(s: SettingsSection, side: 'local' | 'remote', position: number): AuthRound {
    const where = `${side} round '${s.name}'`;
    this.checkKeys(s, AUTH_KEYS, where);
    for (const sub of s.sections.values()) {
      if (sub.name.startsWith('cert') || sub.name.startsWith('cacert')) {
        this.warn(sub.origin, `certificate section '${sub.name}' is ignored`, 'certificates are not supported yet');
      } else {
        this.error(sub.origin, `unknown section '${sub.name}' in ${where}`, didYouMean(sub.name, ['cert', 'cacert']));
      }
    }
    const auth = this.read(s, 'auth', (v) => v.trim()) ?? 'pubkey';
    const authClass = this.authClass(auth, s);
    const list = (key: string) => this.read(s, key, splitList) ?? [];
    return {
      name: s.name,
      origin: s.origin,
      round: this.read(s, 'round', (v) => parseUint(v, 0xffffffff, 'round number')) ?? position,
      auth,
      authClass,
      id: this.read(s, 'id', (v) => v) ?? (side === 'remote' ? '%any' : undefined),
      certs: list('certs'),
      pubkeys: list('pubkeys'),
      cacerts: list('cacerts'),
    };
  }

  private authClass(auth: string, s: SettingsSection): AuthClass {
    const origin = s.keys.get('auth')?.valueOrigin ?? s.origin;
    const lower = auth.toLowerCase();
    if (lower === 'psk') return 'psk';
    if (['ike:', 'pubkey', 'rsa', 'ecdsa', 'bliss'].some((p) => auth.startsWith(p))) {
      this.warn(origin, `auth = ${auth}: public key authentication is not implemented yet`, 'use auth = psk for now');
      return 'pubkey';
    }
    if (lower.startsWith('eap')) {
      this.error(origin, `auth = ${auth}: EAP authentication is not supported`, 'use auth = psk');
      return 'eap';
    }
    if (lower.startsWith('xauth')) {
      this.error(origin, `auth = ${auth}: XAuth is IKEv1 only and not supported`, 'use auth = psk');
      return 'xauth';
    }
    this.error(origin, `unknown auth method '${auth}'`, 'use psk, pubkey, rsa, ecdsa, eap... (see man swanctl.conf)');
    return 'psk';
  }

  // ---- children ---------------------------------------------------------------------------------------------

  private children(section: SettingsSection, conn: string): ChildConfig[] {
    for (const key of section.keys.values()) {
      this.error(
        key.origin,
        `key '${key.name}' directly in 'children' of connection '${conn}'`,
        'put it inside a child section',
      );
    }
    return [...section.sections.values()].map((c) => this.child(c, conn));
  }

  private child(s: SettingsSection, conn: string): ChildConfig {
    const where = `child '${s.name}' of connection '${conn}'`;
    this.checkKeys(s, CHILD_KEYS, where);
    for (const sub of s.sections.values()) {
      this.error(sub.origin, `unexpected section '${sub.name}' in ${where}`, 'children hold keys only');
    }
    // An empty list falls back to dynamic, as an absent key does.
    const ts = (key: string): TrafficSelector[] | undefined => {
      const list = this.read(s, key, (v) => splitList(v).map(parseTrafficSelector));
      return list !== undefined && list.length > 0 ? list : undefined;
    };
    const dynamic = [parseTrafficSelector('dynamic')];
    const mode =
      this.read(s, 'mode', (v) => {
        const m = v.trim().toLowerCase();
        if (m === 'beet' || m === 'transport_proxy') {
          throw new ValueError(`mode ${m} is not supported`, 'use tunnel or transport');
        }
        return parseEnum(v, ['tunnel', 'transport', 'pass', 'drop'] as const);
      }) ?? 'tunnel';
    const ah = this.proposals(s, 'ah_proposals', 'ah') ?? [];
    const esp =
      this.proposals(s, 'esp_proposals', 'esp') ?? (ah.length > 0 ? [] : [{ text: 'default', origin: s.origin }]);

    // vici_config.c check_lifetimes(): life = rekey * 110 / 100, rand = life - min(life, rekey).
    const lifetimes = (
      rekeyKey: string,
      lifeKey: string,
      randKey: string,
      parse: (v: string) => number,
      rekeyDefault: number,
    ) => {
      const rekey = this.read(s, rekeyKey, parse) ?? rekeyDefault;
      const life = this.read(s, lifeKey, parse) ?? Math.floor((rekey * 110) / 100);
      const rand = this.read(s, randKey, parse) ?? life - Math.min(life, rekey);
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
      replayWindow:
        this.read(s, 'replay_window', (v) => parseUint(v, 0xffffffff, 'window size')) ?? DEFAULT_REPLAY_WINDOW,
      startAction: this.read(s, 'start_action', parseStartAction) ?? 'none',
      dpdAction: this.read(s, 'dpd_action', parseDpdAction) ?? 'clear',
      closeAction: this.read(s, 'close_action', parseCloseAction) ?? 'none',
    };
  }

  // ---- secrets ----------------------------------------------------------------------------------------------

  private secrets(section: SettingsSection, secretOrigins: Origin[]): IkeSecret[] {
    for (const key of section.keys.values()) {
      this.warn(
        key.origin,
        `key '${key.name}' directly in 'secrets' is ignored`,
        'secrets go in ike<suffix> { } sections',
      );
    }
    const out: IkeSecret[] = [];
    for (const s of section.sections.values()) {
      for (const k of s.keys.values())
        if ((k.name === 'secret' || k.name === 'pin') && k.value !== null) secretOrigins.push(k.origin);
      const type = SECRET_TYPES.find((t) => s.name.startsWith(t));
      if (type === undefined) {
        const letters = /^[a-z0-9]*/i.exec(s.name)?.[0] ?? s.name;
        this.warn(
          s.origin,
          `secret section '${s.name}' has an unknown type and is ignored (as strongSwan does)`,
          didYouMean(letters, SECRET_TYPES) ?? `name it ike-<name> for a pre-shared key`,
        );
        continue;
      }
      if (type !== 'ike') {
        this.warn(
          s.origin,
          `secret section '${s.name}' is ignored`,
          `${type} secrets are not used yet; only ike<suffix> secrets are`,
        );
        continue;
      }
      const secret = this.ikeSecret(s);
      if (secret !== undefined) out.push(secret);
    }
    return out;
  }

  private ikeSecret(s: SettingsSection): IkeSecret | undefined {
    const ids: string[] = [];
    for (const k of s.keys.values()) {
      if (k.name.startsWith('id')) {
        if (k.value !== null) ids.push(k.value);
      } else if (k.name !== 'secret') {
        this.error(
          k.origin,
          `unknown key '${k.name}' in secret '${s.name}'`,
          didYouMean(k.name, Object.keys(IKE_SECRET_KEYS)) ?? 'an ike secret holds secret and id<suffix> keys',
        );
      }
    }
    for (const sub of s.sections.values())
      this.error(sub.origin, `unexpected section '${sub.name}' in secret '${s.name}'`, 'secrets hold keys only');
    const k = s.keys.get('secret');
    if (k === undefined || k.value === null) {
      this.warn(
        s.origin,
        `secret section '${s.name}' has no secret and is ignored (as strongSwan does)`,
        'add secret = "..."',
      );
      return undefined;
    }
    const secret = this.read(s, 'secret', parseSecret);
    if (secret === undefined) return undefined;
    return { name: s.name, origin: s.origin, secret, secretOrigin: k.origin, ids };
  }

  // ---- helpers ----------------------------------------------------------------------------------------------

  private checkKeys(s: SettingsSection, table: Readonly<Record<string, KeyRule>>, where: string): void {
    for (const key of s.keys.values()) {
      const rule = table[key.name];
      if (rule === undefined) {
        this.error(
          key.origin,
          `unknown key '${key.name}' in ${where}`,
          didYouMean(key.name, Object.keys(table)) ?? 'see man swanctl.conf for the keys allowed here',
        );
        continue;
      }
      if (key.value === null) continue;
      this.applyRule(key, rule, where);
    }
  }

  private applyRule(key: SettingsKey, rule: KeyRule, where: string): void {
    switch (rule.status) {
      case 'supported':
        return;
      case 'kept':
        this.warn(key.origin, `'${key.name}' in ${where} is kept but not used yet: ${rule.why}`);
        return;
      case 'ignored':
        this.warn(key.origin, `'${key.name}' in ${where} is ignored: ${rule.why}`);
        return;
      case 'defaultOnly':
        if (rule.isDefault(key.value as string)) {
          this.warn(key.origin, `'${key.name}' in ${where} is ignored: ${rule.why}`);
        } else {
          this.error(
            key.origin,
            `'${key.name} = ${key.value as string}' is not supported: ${rule.why}`,
            'remove the key or set it to its default',
          );
        }
        return;
      case 'refused':
        this.error(key.origin, `'${key.name}' is not supported: ${rule.why}`, 'remove the key');
        return;
    }
  }

  /** Parse a key's value; undefined when absent, cleared, or wrong (the error is recorded at the value). */
  private read<T>(s: SettingsSection, key: string, parse: (v: string) => T): T | undefined {
    const k = s.keys.get(key);
    if (k === undefined || k.value === null) return undefined;
    try {
      return parse(k.value);
    } catch (e) {
      if (!(e instanceof ValueError)) throw e;
      this.error(k.valueOrigin, `${key}: ${e.message}`, e.hint);
      return undefined;
    }
  }

  private error(origin: Origin, message: string, hint?: string): void {
    this.errors.push(diagnostic(origin, message, hint));
  }
  private warn(origin: Origin, message: string, hint?: string): void {
    this.warnings.push(diagnostic(origin, message, hint));
  }
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

/** Whether a child makes this end start IKE (swanctl.conf(5) start_action, close_action, dpd_action). */
function initiating(c: ChildConfig): boolean {
  return c.startAction !== 'none' || c.closeAction !== 'none' || c.dpdAction === 'restart';
}

/** Errors in reading order: by file (in the order files were read), then line and column. */
function sortByPlace(ds: readonly Diagnostic[], files: readonly string[]): Diagnostic[] {
  const rank = (f: string): number => {
    const i = files.indexOf(f);
    return i < 0 ? files.length : i;
  };
  return [...ds].sort(
    (a, b) =>
      rank(a.origin.file) - rank(b.origin.file) || a.origin.line - b.origin.line || a.origin.column - b.origin.column,
  );
}

/** Freeze plain objects and arrays all the way down (typed arrays are left as they are: they cannot be frozen). */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value) && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}
