/**
 * Every key swanctl.conf(5) of strongSwan 5.9 defines for connections, authentication rounds, children and secrets,
 * with what this project does with it:
 *
 * - `supported`: read, validated and used;
 * - `kept`: read and kept in the model but not acted on yet (a warning says so);
 * - `ignored`: a warning, because ignoring it cannot change what is negotiated or protected;
 * - `defaultOnly`: accepted with a warning while it has strongSwan's default value (or a value with the same effect
 *   here), refused otherwise;
 * - `refused`: an error, because ignoring it would make the tunnel behave differently from what the file says.
 *
 * A key that is not in these tables is an error with the nearest known key suggested (strongSwan's vici plugin
 * also refuses an unknown key and discards the connection).
 */
import { parseBool, parseTimeSec, parseUint } from './values.js';

export type KeyRule =
  | { readonly status: 'supported' }
  | { readonly status: 'kept'; readonly why: string }
  | { readonly status: 'ignored'; readonly why: string }
  | { readonly status: 'defaultOnly'; readonly isDefault: (value: string) => boolean; readonly why: string }
  | { readonly status: 'refused'; readonly why: string };

const S: KeyRule = { status: 'supported' };
const ignored = (why: string): KeyRule => ({ status: 'ignored', why });
const refused = (why: string): KeyRule => ({ status: 'refused', why });
const defaultOnly = (isDefault: (v: string) => boolean, why: string): KeyRule => ({
  status: 'defaultOnly',
  isDefault,
  why,
});

const safe =
  <T>(f: (v: string) => T, want: T) =>
  (v: string): boolean => {
    try {
      return f(v) === want;
    } catch {
      return false;
    }
  };
const boolIs = (want: boolean): ((v: string) => boolean) => safe(parseBool, want);
const zeroTime = safe(parseTimeSec, 0);
const zeroNumber = safe((v) => parseUint(v, 0xffffffff), 0);
const oneOf =
  (...words: string[]) =>
  (v: string): boolean =>
    words.includes(v.trim().toLowerCase());
const zeroMark = (v: string): boolean => /^(0|0x0+)(\/(0|0x0+))?$/i.test(v.trim());

/** connections.<conn>.<key> */
export const CONNECTION_KEYS: Readonly<Record<string, KeyRule>> = {
  version: S,
  local_addrs: S,
  remote_addrs: S,
  local_port: S,
  remote_port: S,
  proposals: S,
  encap: S,
  mobike: S,
  dpd_delay: S,
  dpd_timeout: S,
  fragmentation: S,
  keyingtries: S,
  unique: S,
  reauth_time: S,
  rekey_time: S,
  over_time: S,
  rand_time: S,
  vips: S,
  pools: S,
  aggressive: defaultOnly(boolIs(false), 'Aggressive Mode is IKEv1 only'),
  pull: ignored('Mode Config push/pull is IKEv1 only'),
  dscp: defaultOnly(oneOf('000000', '0'), 'setting a DSCP on IKE packets is not supported'),
  childless: defaultOnly(oneOf('allow', 'never'), 'childless IKE_SA initiation (RFC 6023) is not supported'),
  send_certreq: S,
  send_cert: S,
  ppk_id: refused('postquantum preshared keys (RFC 8784) are not supported'),
  ppk_required: defaultOnly(boolIs(false), 'postquantum preshared keys (RFC 8784) are not supported'),
  if_id_in: defaultOnly(zeroNumber, 'XFRM interface IDs do not apply to the user-space data plane'),
  if_id_out: defaultOnly(zeroNumber, 'XFRM interface IDs do not apply to the user-space data plane'),
  mediation: defaultOnly(boolIs(false), 'the IKEv2 Mediation Extension is not supported'),
  mediated_by: refused('the IKEv2 Mediation Extension is not supported'),
  mediation_peer: refused('the IKEv2 Mediation Extension is not supported'),
};

/** connections.<conn>.local<suffix>.<key> and remote<suffix>.<key> */
export const AUTH_KEYS: Readonly<Record<string, KeyRule>> = {
  auth: S,
  id: S,
  round: S,
  certs: S,
  pubkeys: S,
  cacerts: S,
  eap_id: S,
  aaa_id: ignored('a separate AAA server identity is not supported; the EAP server is the IKE responder'),
  xauth_id: ignored('XAuth (IKEv1) is not supported; xauth_id only applies to XAuth rounds'),
  revocation: S,
  groups: refused('group membership constraints are not supported (ignoring them would accept more peers)'),
  cert_policy: refused('certificate policy constraints are not supported (ignoring them would accept more peers)'),
  ca_id: refused('CA identity constraints are not supported (ignoring them would accept more peers)'),
};

/** connections.<conn>.children.<child>.<key> */
export const CHILD_KEYS: Readonly<Record<string, KeyRule>> = {
  local_ts: S,
  remote_ts: S,
  mode: S,
  esp_proposals: S,
  ah_proposals: S,
  rekey_time: S,
  life_time: S,
  rand_time: S,
  rekey_bytes: S,
  life_bytes: S,
  rand_bytes: S,
  rekey_packets: S,
  life_packets: S,
  rand_packets: S,
  replay_window: S,
  start_action: S,
  dpd_action: S,
  close_action: S,
  updown: refused('updown scripts are not supported'),
  hostaccess: ignored('hostaccess is only passed to updown scripts, which are not supported'),
  policies: defaultOnly(boolIs(true), 'running without installed policies is not supported'),
  policies_fwd_out: ignored('the user-space data plane has no separate forward policies'),
  ipcomp: defaultOnly(boolIs(false), 'IPComp is not supported'),
  inactivity: defaultOnly(zeroTime, 'inactivity timeouts are not supported yet'),
  reqid: defaultOnly(zeroNumber, 'fixed reqids are not supported'),
  priority: defaultOnly(zeroNumber, 'fixed policy priorities are not supported'),
  interface: refused('restricting policies to an interface is not supported'),
  mark_in: defaultOnly(zeroMark, 'Netfilter marks do not apply to the user-space data plane'),
  mark_in_sa: defaultOnly(boolIs(false), 'Netfilter marks do not apply to the user-space data plane'),
  mark_out: defaultOnly(zeroMark, 'Netfilter marks do not apply to the user-space data plane'),
  set_mark_in: defaultOnly(zeroMark, 'Netfilter marks do not apply to the user-space data plane'),
  set_mark_out: defaultOnly(zeroMark, 'Netfilter marks do not apply to the user-space data plane'),
  if_id_in: defaultOnly(zeroNumber, 'XFRM interface IDs do not apply to the user-space data plane'),
  if_id_out: defaultOnly(zeroNumber, 'XFRM interface IDs do not apply to the user-space data plane'),
  label: refused('security labels are not supported'),
  label_mode: ignored('security labels are not supported'),
  tfc_padding: defaultOnly(zeroNumber, 'TFC padding is not supported'),
  hw_offload: defaultOnly(oneOf('no', 'auto'), 'hardware offload does not apply to the user-space data plane'),
  copy_df: ignored("the data plane's outer DF bit handling is not configurable yet"),
  copy_ecn: ignored("the data plane's ECN handling is not configurable yet"),
  copy_dscp: ignored("the data plane's DSCP handling is not configurable yet"),
  sha256_96: defaultOnly(boolIs(false), 'the non-standard 96-bit HMAC-SHA-256 truncation is not supported'),
};

/** secrets.ike<suffix>.<key> and eap<suffix> / xauth<suffix>; id<suffix> keys are matched by prefix. */
export const IKE_SECRET_KEYS: Readonly<Record<string, KeyRule>> = {
  secret: S,
  id: S,
};

/** pools.<name>.<key>; other attribute names and numeric attribute types are refused as not supported yet. */
export const POOL_KEYS: Readonly<Record<string, KeyRule>> = {
  addrs: S,
  dns: S,
  split_include: S,
  nbns: refused('handing out NBNS servers is not supported'),
  dhcp: refused('handing out DHCP servers is not supported'),
  netmask: refused('handing out netmasks is not supported'),
  server: refused('handing out server addresses is not supported'),
  subnet: refused('handing out subnets is not supported (use split_include)'),
  split_exclude: refused('split-exclude (Unity) attributes are not supported'),
};

/** Secret section prefixes strongSwan knows (swanctl.conf(5), secrets); `ike`, `eap`, `xauth` and keys are used. */
export const SECRET_TYPES = [
  'eap',
  'xauth',
  'ntlm',
  'ike',
  'ppk',
  'private',
  'rsa',
  'ecdsa',
  'pkcs8',
  'pkcs12',
  'token',
] as const;

/** Top-level sections of swanctl.conf. */
export const TOP_LEVEL_SECTIONS = ['connections', 'secrets', 'pools', 'authorities'] as const;
