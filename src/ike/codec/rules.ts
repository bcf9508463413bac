/**
 * Which payloads each exchange may carry (RFC 7296 1.2-1.5, 2.5, 3.14; RFC 9242), as data: one row per
 * exchange and direction, each payload type with its minimum and maximum count and whether it travels
 * inside the SK payload. `validateMessageRules` applies the table to a decoded message.
 *
 * Minimums are those every valid message has; responses carrying only an error notify are valid, so most
 * response minimums are 0 and the exchange tasks check what a successful response must hold.
 */
import { ExchangeType, NotifyType, PayloadType, nameOf } from './constants.js';
import type { IkeMessage, Payload } from './types.js';

/** Unlimited count. */
export const MANY = Number.POSITIVE_INFINITY;

/** How often one payload type may appear, and where. */
export interface PayloadRule {
  type: number;
  min: number;
  max: number;
  /** True when the payload travels inside SK (all exchanges but IKE_SA_INIT). */
  encrypted: boolean;
}

/** The payloads one exchange may carry in one direction. */
export interface MessageRule {
  exchangeType: number;
  response: boolean;
  /** The message body is an SK (or SKF) payload. */
  encrypted: boolean;
  payloads: readonly PayloadRule[];
}

function plain(type: number, min: number, max: number): PayloadRule {
  return { type, min, max, encrypted: false };
}
function enc(type: number, min: number, max: number): PayloadRule {
  return { type, min, max, encrypted: true };
}

const P = PayloadType;

/** The table (RFC 7296 1.2 IKE_SA_INIT/IKE_AUTH, 1.3 CREATE_CHILD_SA, 1.4 INFORMATIONAL, RFC 9242). */
export const messageRules: readonly MessageRule[] = [
  {
    // HDR, SAi1, KEi, Ni, [N+], [V+]
    exchangeType: ExchangeType.IKE_SA_INIT,
    response: false,
    encrypted: false,
    payloads: [
      plain(P.NOTIFY, 0, MANY),
      plain(P.SA, 1, 1),
      plain(P.KE, 1, 1),
      plain(P.NONCE, 1, 1),
      plain(P.VENDOR_ID, 0, MANY),
    ],
  },
  {
    // HDR, SAr1, KEr, Nr, [CERTREQ+], [N+], [V+]   or   HDR, N (error, COOKIE, INVALID_KE_PAYLOAD)
    exchangeType: ExchangeType.IKE_SA_INIT,
    response: true,
    encrypted: false,
    payloads: [
      plain(P.NOTIFY, 0, MANY),
      plain(P.SA, 0, 1),
      plain(P.KE, 0, 1),
      plain(P.NONCE, 0, 1),
      plain(P.CERTREQ, 0, MANY),
      plain(P.VENDOR_ID, 0, MANY),
    ],
  },
  {
    // HDR, SK {IDi, [CERT+], [N(INITIAL_CONTACT)], [CERTREQ+], [IDr], AUTH, [CP], SAi2, TSi, TSr, [N+], [V+]}
    // (IDi and AUTH are absent in later EAP rounds; SA and TS are absent for childless SAs, RFC 6023)
    exchangeType: ExchangeType.IKE_AUTH,
    response: false,
    encrypted: true,
    payloads: [
      enc(P.NOTIFY, 0, MANY),
      enc(P.IDi, 0, 1),
      enc(P.CERT, 0, MANY),
      enc(P.CERTREQ, 0, MANY),
      enc(P.IDr, 0, 1),
      enc(P.AUTH, 0, 1),
      enc(P.EAP, 0, 1),
      enc(P.CP, 0, 1),
      enc(P.SA, 0, 1),
      enc(P.TSi, 0, 1),
      enc(P.TSr, 0, 1),
      enc(P.VENDOR_ID, 0, MANY),
    ],
  },
  {
    // HDR, SK {IDr, [CERT+], AUTH, [CP], SAr2, TSi, TSr, [N+], [V+]}
    exchangeType: ExchangeType.IKE_AUTH,
    response: true,
    encrypted: true,
    payloads: [
      enc(P.NOTIFY, 0, MANY),
      enc(P.IDr, 0, 1),
      enc(P.CERT, 0, MANY),
      enc(P.AUTH, 0, 1),
      enc(P.EAP, 0, 1),
      enc(P.CP, 0, 1),
      enc(P.SA, 0, 1),
      enc(P.TSi, 0, 1),
      enc(P.TSr, 0, 1),
      enc(P.VENDOR_ID, 0, MANY),
    ],
  },
  {
    // HDR, SK {[N(REKEY_SA)], [N+], SA, Ni, [KEi], [TSi, TSr]}
    exchangeType: ExchangeType.CREATE_CHILD_SA,
    response: false,
    encrypted: true,
    payloads: [
      enc(P.NOTIFY, 0, MANY),
      enc(P.SA, 1, 1),
      enc(P.NONCE, 1, 1),
      enc(P.KE, 0, 1),
      enc(P.TSi, 0, 1),
      enc(P.TSr, 0, 1),
      enc(P.VENDOR_ID, 0, MANY),
    ],
  },
  {
    // HDR, SK {[N+], SA, Nr, [KEr], [TSi, TSr]}   or   HDR, SK {N (error)}
    exchangeType: ExchangeType.CREATE_CHILD_SA,
    response: true,
    encrypted: true,
    payloads: [
      enc(P.NOTIFY, 0, MANY),
      enc(P.SA, 0, 1),
      enc(P.NONCE, 0, 1),
      enc(P.KE, 0, 1),
      enc(P.TSi, 0, 1),
      enc(P.TSr, 0, 1),
      enc(P.VENDOR_ID, 0, MANY),
    ],
  },
  {
    // HDR, SK {[N,] [D,] [CP,] ...}
    exchangeType: ExchangeType.INFORMATIONAL,
    response: false,
    encrypted: true,
    payloads: [enc(P.NOTIFY, 0, MANY), enc(P.DELETE, 0, MANY), enc(P.CP, 0, 1), enc(P.VENDOR_ID, 0, MANY)],
  },
  {
    exchangeType: ExchangeType.INFORMATIONAL,
    response: true,
    encrypted: true,
    payloads: [enc(P.NOTIFY, 0, MANY), enc(P.DELETE, 0, MANY), enc(P.CP, 0, 1), enc(P.VENDOR_ID, 0, MANY)],
  },
  {
    // RFC 9242: HDR, SK {...}; RFC 9370 carries one additional KE here
    exchangeType: ExchangeType.IKE_INTERMEDIATE,
    response: false,
    encrypted: true,
    payloads: [enc(P.NOTIFY, 0, MANY), enc(P.KE, 0, 1), enc(P.VENDOR_ID, 0, MANY)],
  },
  {
    exchangeType: ExchangeType.IKE_INTERMEDIATE,
    response: true,
    encrypted: true,
    payloads: [enc(P.NOTIFY, 0, MANY), enc(P.KE, 0, 1), enc(P.VENDOR_ID, 0, MANY)],
  },
];

/** Find the rule row for an exchange type and direction. */
export function findMessageRule(exchangeType: number, response: boolean): MessageRule | undefined {
  return messageRules.find((r) => r.exchangeType === exchangeType && r.response === response);
}

/** Why a message breaks the table, with the notify RFC 7296 prescribes for a request. */
export interface RuleViolation {
  /** UNSUPPORTED_CRITICAL_PAYLOAD (notify data: payloadType as one byte) or INVALID_SYNTAX. */
  notifyType: number;
  reason: string;
  /** The payload type at fault, when there is one. */
  payloadType?: number;
}

function violation(notifyType: number, reason: string, payloadType?: number): RuleViolation {
  return payloadType === undefined ? { notifyType, reason } : { notifyType, reason, payloadType };
}

function typeName(t: number): string {
  return nameOf(PayloadType, t);
}

/** Count known payloads against the rule; report the first unknown critical one or misplaced one. */
function scan(
  payloads: readonly Payload[],
  rule: MessageRule,
  inside: boolean,
  counts: Map<number, number>,
): RuleViolation | undefined {
  for (const p of payloads) {
    if (p.type === 'unknown') {
      if (p.critical) {
        return violation(
          NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD,
          `unknown critical payload type ${p.payloadType}`,
          p.payloadType,
        );
      }
      continue;
    }
    if (p.type === P.SK || p.type === P.SKF) {
      if (inside || !rule.encrypted)
        return violation(NotifyType.INVALID_SYNTAX, `unexpected ${typeName(p.type)}`, p.type);
      continue;
    }
    const pr = rule.payloads.find((r) => r.type === p.type);
    if (pr === undefined) {
      return violation(NotifyType.INVALID_SYNTAX, `${typeName(p.type)} not allowed in this message`, p.type);
    }
    if (pr.encrypted !== inside) {
      const where = inside ? 'inside' : 'outside';
      return violation(NotifyType.INVALID_SYNTAX, `${typeName(p.type)} not allowed ${where} SK`, p.type);
    }
    counts.set(p.type, (counts.get(p.type) ?? 0) + 1);
  }
  return undefined;
}

/**
 * Check a decoded message against the table. For encrypted exchanges pass the decrypted inner payloads
 * as `inner`; without them only the outer shape is checked (an SK payload and nothing else that matters).
 * Returns undefined when the message is acceptable.
 */
export function validateMessageRules(msg: IkeMessage, inner?: readonly Payload[]): RuleViolation | undefined {
  const { exchangeType } = msg.header;
  const rule = findMessageRule(exchangeType, msg.header.flags.response);
  if (rule === undefined) {
    return violation(NotifyType.INVALID_SYNTAX, `unsupported exchange type ${nameOf(ExchangeType, exchangeType)}`);
  }
  const counts = new Map<number, number>();
  const outer = scan(msg.payloads, rule, false, counts);
  if (outer !== undefined) return outer;
  if (rule.encrypted) {
    const last = msg.payloads[msg.payloads.length - 1];
    if (last === undefined || (last.type !== P.SK && last.type !== P.SKF)) {
      return violation(NotifyType.INVALID_SYNTAX, `${nameOf(ExchangeType, exchangeType)} must be encrypted`);
    }
    if (inner === undefined) return undefined;
    const innerResult = scan(inner, rule, true, counts);
    if (innerResult !== undefined) return innerResult;
  }
  for (const pr of rule.payloads) {
    const n = counts.get(pr.type) ?? 0;
    if (n < pr.min) return violation(NotifyType.INVALID_SYNTAX, `${typeName(pr.type)} missing`, pr.type);
    if (n > pr.max) return violation(NotifyType.INVALID_SYNTAX, `too many ${typeName(pr.type)} (${n})`, pr.type);
  }
  return undefined;
}
