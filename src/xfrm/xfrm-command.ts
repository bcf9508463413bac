/**
 * Typed `ip xfrm` commands (see `man ip-xfrm`): what the parser produces and the formatters and the mapping to
 * the kernel boundary consume. Addresses are canonical text (RFC 5952 for IPv6); prefixes `addr/len`.
 */
import type { ArgPosition } from './xfrm-error.js';

export type XfrmProto = 'esp' | 'ah';
export type XfrmMode = 'transport' | 'tunnel';
export type XfrmPolicyDir = 'in' | 'out' | 'fwd';
/** State flags ts-ipsec accepts: `esn` (RFC 4303 2.2.1) and `af-unspec` (inner family may differ; no effect here). */
export type XfrmStateFlag = 'esn' | 'af-unspec';

export interface XfrmAlgorithm {
  readonly type: 'enc' | 'auth' | 'auth-trunc' | 'aead';
  /** The name as written (`'hmac(sha256)'`, `sha1`, `cipher_null`). */
  readonly name: string;
  /** Keying material: the bytes of a 0x-hex KEY, else the bytes of the string as written. */
  readonly key: Uint8Array;
  /** auth-trunc: truncation length in bits; aead: ICV length in bits; absent for enc and auth. */
  readonly bits?: number;
  /** Where the algorithm keyword stands. */
  readonly at: ArgPosition;
}

/** A selector (`sel` of a state, the SELECTOR of a policy). */
export interface XfrmSelector {
  /** `addr/len` */
  readonly src: string;
  readonly dst: string;
  /** IP protocol number (absent: any). */
  readonly proto?: number;
  readonly sport?: number;
  readonly dport?: number;
  /** ICMP / ICMPv6 / MH type and code (Linux keeps them in the sport/dport fields). */
  readonly type?: number;
  readonly code?: number;
}

export interface XfrmEncap {
  readonly type: 'espinudp';
  readonly sport: number;
  readonly dport: number;
  /** Original address (OADDR), kept for listings; `0.0.0.0` in practice. */
  readonly oa: string;
}

/** Byte and packet limits (`limit byte-soft N` ...). */
export interface XfrmLimits {
  readonly softBytes?: number;
  readonly hardBytes?: number;
  readonly softPackets?: number;
  readonly hardPackets?: number;
}

export interface XfrmStateAdd {
  readonly object: 'state';
  readonly verb: 'add';
  readonly src: string;
  readonly dst: string;
  readonly proto: XfrmProto;
  readonly spi: number;
  readonly reqid: number;
  readonly mode: XfrmMode;
  readonly replayWindow: number;
  readonly flags: readonly XfrmStateFlag[];
  /** In the order written. */
  readonly algorithms: readonly XfrmAlgorithm[];
  readonly encap?: XfrmEncap;
  readonly sel?: XfrmSelector;
  /** `dir in|out` (iproute2 6.10+); absent: decided by whether dst is one of our addresses. */
  readonly dir?: 'in' | 'out';
  readonly limits?: XfrmLimits;
  /** `tfcpad N`: TFC padding length (RFC 4303 2.7). */
  readonly tfcpad?: number;
  /** Where each argument keyword was (`spi`, `reqid`, `sel`, ...), for errors found after parsing. */
  readonly positions: Readonly<Record<string, ArgPosition>>;
}

/** The ID of `state del|get`. */
export interface XfrmStateId {
  readonly object: 'state';
  readonly verb: 'del' | 'get';
  readonly src?: string;
  readonly dst: string;
  readonly proto: XfrmProto;
  readonly spi: number;
}

/** `state list [ID] [mode M] [reqid R] [nokeys]`: every field a filter. */
export interface XfrmStateList {
  readonly object: 'state';
  readonly verb: 'list';
  readonly src?: string;
  readonly dst?: string;
  readonly proto?: XfrmProto;
  readonly spi?: number;
  readonly mode?: XfrmMode;
  readonly reqid?: number;
  readonly nokeys: boolean;
}

export interface XfrmStateFlush {
  readonly object: 'state';
  readonly verb: 'flush';
  readonly proto?: XfrmProto;
}

export interface XfrmTmpl {
  /** Tunnel endpoints (absent in transport mode). */
  readonly src?: string;
  readonly dst?: string;
  readonly proto: XfrmProto;
  readonly spi?: number;
  readonly mode: XfrmMode;
  readonly reqid: number;
  readonly at: ArgPosition;
}

export interface XfrmPolicyAdd {
  readonly object: 'policy';
  readonly verb: 'add';
  readonly sel: XfrmSelector;
  readonly dir: XfrmPolicyDir;
  /** Linux default 0; lower wins. */
  readonly priority?: number;
  readonly action: 'allow' | 'block';
  readonly tmpls: readonly XfrmTmpl[];
  readonly positions: Readonly<Record<string, ArgPosition>>;
}

/** `policy del SELECTOR dir DIR` or `policy del index N dir DIR`. */
export interface XfrmPolicyDel {
  readonly object: 'policy';
  readonly verb: 'del';
  readonly sel?: XfrmSelector;
  readonly index?: number;
  readonly dir: XfrmPolicyDir;
}

export interface XfrmPolicyList {
  readonly object: 'policy';
  readonly verb: 'list';
  readonly sel?: Partial<XfrmSelector>;
  readonly dir?: XfrmPolicyDir;
  readonly action?: 'allow' | 'block';
  readonly priority?: number;
  readonly index?: number;
}

export interface XfrmPolicyFlush {
  readonly object: 'policy';
  readonly verb: 'flush';
}

export type XfrmCommand =
  | XfrmStateAdd
  | XfrmStateId
  | XfrmStateList
  | XfrmStateFlush
  | XfrmPolicyAdd
  | XfrmPolicyDel
  | XfrmPolicyList
  | XfrmPolicyFlush;
