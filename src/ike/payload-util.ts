/** Small readers and builders over decoded payload lists (src/ike/codec/types.ts). */
import { PayloadType, ProtocolId } from './codec/constants.js';
import type {
  DeletePayload,
  NotifyPayload,
  Payload,
  SaPayload,
  TsPayload,
  KePayload,
  NoncePayload,
  IdPayload,
  AuthPayload,
} from './codec/types.js';

type ByType = {
  [PayloadType.SA]: SaPayload;
  [PayloadType.KE]: KePayload;
  [PayloadType.NONCE]: NoncePayload;
  [PayloadType.IDi]: IdPayload;
  [PayloadType.IDr]: IdPayload;
  [PayloadType.AUTH]: AuthPayload;
  [PayloadType.TSi]: TsPayload;
  [PayloadType.TSr]: TsPayload;
  [PayloadType.NOTIFY]: NotifyPayload;
  [PayloadType.DELETE]: DeletePayload;
};

/** The first payload of a type, or undefined. */
export function first<T extends keyof ByType>(payloads: readonly Payload[], type: T): ByType[T] | undefined {
  return payloads.find((p) => p.type === type) as ByType[T] | undefined;
}

/** All payloads of a type. */
export function all<T extends keyof ByType>(payloads: readonly Payload[], type: T): ByType[T][] {
  return payloads.filter((p) => p.type === type) as ByType[T][];
}

/** The first notify of a Notify Message Type, or undefined. */
export function findNotify(payloads: readonly Payload[], notifyType: number): NotifyPayload | undefined {
  return payloads.find((p): p is NotifyPayload => p.type === PayloadType.NOTIFY && p.notifyType === notifyType);
}

/** The first error notify (type < 16384, RFC 7296 3.10.1), or undefined. */
export function errorNotify(payloads: readonly Payload[]): NotifyPayload | undefined {
  return payloads.find((p): p is NotifyPayload => p.type === PayloadType.NOTIFY && p.notifyType < 16384);
}

/** A notify payload to send. */
export function notify(
  notifyType: number,
  data: Uint8Array = Buffer.alloc(0),
  protocolId: number = ProtocolId.NONE,
  spi: Uint8Array = Buffer.alloc(0),
): NotifyPayload {
  return { type: PayloadType.NOTIFY, protocolId, spi: Buffer.from(spi), notifyType, data: Buffer.from(data) };
}
