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
import { ConfigError, type Diagnostic, type Origin } from './config-error.js';
import { parseSettings, type ReadInclude } from './settings-parser.js';
import { referencedNames, resolveReferences } from './settings-references.js';
import type { SettingsSection } from './settings-tree.js';
import { didYouMean } from './suggest.js';
import { parseAddressSpec } from './addresses.js';
import { parseBool, parseEnum, parseTimeSec, parseUint, splitList } from './values.js';
import { CONNECTION_KEYS, TOP_LEVEL_SECTIONS } from './swanctl-keys.js';
import { Findings, keyOriginsOf } from './swanctl-findings.js';
import { buildAuthRounds } from './swanctl-auth.js';
import { buildChildren } from './swanctl-children.js';
import { buildEapSecrets, buildPrivateKeySecrets, buildSecrets } from './swanctl-secrets.js';
import { buildPools, checkPoolReferences, parseVips } from './swanctl-pools.js';
import type {
  AddressPoolConfig,
  Authority,
  PrivateKeySecret,
  AddressSpec,
  ChildConfig,
  IkeConnection,
  EapSecret,
  IkeSecret,
  SwanctlConfig,
  SwanctlParseResult,
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

class Builder extends Findings {
  /** Sections used as templates through references: no warning when they sit outside the known sections. */
  private readonly referenced: ReadonlySet<string>;
  constructor(validateProposal: ValidateProposal | undefined, referenced: ReadonlySet<string>) {
    super(validateProposal);
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
    let eapSecrets: EapSecret[] = [];
    let privateKeys: PrivateKeySecret[] = [];
    let authorities: Authority[] = [];
    let pools: AddressPoolConfig[] = [];
    const secretOrigins: Origin[] = [];
    for (const section of root.sections.values()) {
      if (section.name === 'connections') connections = this.connections(section);
      else if (section.name === 'secrets') {
        secrets = buildSecrets(this, section, secretOrigins);
        privateKeys = buildPrivateKeySecrets(this, section);
        eapSecrets = buildEapSecrets(this, section);
      } else if (section.name === 'pools') pools = buildPools(this, section);
      else if (section.name === 'authorities') authorities = this.authorities(section);
      else if (!this.isTemplate(section.name)) {
        const hint = didYouMean(section.name, TOP_LEVEL_SECTIONS);
        if (hint !== undefined) this.error(section.origin, `unknown section '${section.name}'`, hint);
        else this.warn(section.origin, `unknown section '${section.name}' is ignored`, 'strongSwan ignores it too');
      }
    }
    checkPoolReferences(this, connections, pools);
    return { connections, pools, secrets, eapSecrets, files: [...files], secretOrigins, privateKeys, authorities };
  }

  /** authorities.<name> { cacert, crl_uris, ocsp_uris } (swanctl.conf(5)); smartcard keys are refused. */
  private authorities(section: SettingsSection): Authority[] {
    const out: Authority[] = [];
    for (const s of section.sections.values()) {
      for (const k of s.keys.values()) {
        if (k.name === 'cacert' || k.name === 'crl_uris' || k.name === 'ocsp_uris') continue;
        if (k.name === 'cert_uri_base')
          this.warn(
            k.origin,
            `'cert_uri_base' in authority '${s.name}' is ignored`,
            'hash and URL certificates are not supported',
          );
        else
          this.error(
            k.origin,
            `'${k.name}' in authority '${s.name}' is not supported`,
            didYouMean(k.name, ['cacert', 'crl_uris', 'ocsp_uris']) ??
              'give the CA as cacert = FILE (smartcards are not supported)',
          );
      }
      out.push({
        name: s.name,
        origin: s.origin,
        cacert: this.read(s, 'cacert', (v) => v.trim()),
        crlUris: this.read(s, 'crl_uris', splitList) ?? [],
        ocspUris: this.read(s, 'ocsp_uris', splitList) ?? [],
      });
    }
    return out;
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
      else if (sub.name === 'children') children = buildChildren(this, sub, s.name);
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
      keyOrigins: keyOriginsOf(s.keys),
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
      vips: this.read(s, 'vips', parseVips) ?? [],
      pools: this.read(s, 'pools', splitList) ?? [],
      local: buildAuthRounds(this, local, 'local', s),
      remote: buildAuthRounds(this, remote, 'remote', s),
      sendCert: this.read(s, 'send_cert', (v) => parseEnum(v, ['always', 'ifasked', 'never'] as const)) ?? 'ifasked',
      sendCertreq: this.read(s, 'send_certreq', parseBool) ?? true,
      children,
    };
  }
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
