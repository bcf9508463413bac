/**
 * IKE_AUTH authentication with a pre-shared key (RFC 7296 1.2, 2.15) and INITIAL_CONTACT (2.4).
 *
 *   HDR, SK { IDi, [IDr,] AUTH, [N(INITIAL_CONTACT),] SAi2, TSi, TSr } -->
 *                                   <-- HDR, SK { IDr, AUTH, SAr2, TSi, TSr }
 *
 * The CHILD_SA part of the exchange is a separate task (child-create.ts) sharing the message.
 */
import { timingSafeEqual } from 'node:crypto';
import { AuthMethod, ExchangeType, NotifyType, PayloadType, nameOf } from '../codec/constants.js';
import type { Payload } from '../codec/types.js';
import type { ConnectionConfig, IkeIdentity } from '../config.js';
import { connectionsForAuth } from '../connection-select.js';
import { IkeError } from '../errors.js';
import { decodeIdentity, encodeIdentity, formatIdentity, identityMatches, isConcreteIdentity } from '../identity.js';
import { pskAuth, signedOctets } from '../keymat.js';
import { errorNotify, findNotify, first, notify } from '../payload-util.js';
import type { IkeSa } from '../sa.js';
import type { Task, TaskContext, TaskResult } from '../task.js';
import { LogLevel } from '../../common/log.js';
import { certReqPayloads, localSignatureAuth, notePeerCapabilities, verifyPeerSignature } from '../auth-pubkey.js';

/** The AUTH value `sender` (initiator or responder) computes over its own IKE_SA_INIT message. */
function authFor(sa: IkeSa, psk: Uint8Array, sender: 'i' | 'r'): Buffer {
  const prf = sa.prf;
  const keys = sa.keys;
  const id = sender === 'i' ? sa.idI : sa.idR;
  if (prf === undefined || keys === undefined || id === undefined) throw new Error('AUTH before keys and IDs');
  const octets =
    sender === 'i'
      ? signedOctets(prf, sa.initRequest, sa.nonceR, keys.skPi, id.type, id.data)
      : signedOctets(prf, sa.initResponse, sa.nonceI, keys.skPr, id.type, id.data);
  return pskAuth(prf, psk, octets);
}

function verifyAuth(expected: Buffer, received: Uint8Array): boolean {
  return expected.length === received.length && timingSafeEqual(expected, received);
}

export class IkeAuthTask implements Task {
  readonly kind = 'ike-auth';
  readonly exchangeType = ExchangeType.IKE_AUTH;
  private peer: IkeIdentity | undefined;
  private initialContact = false;

  buildI(ctx: TaskContext): Payload[] {
    const { sa, core } = ctx;
    const conn = sa.conn;
    if (conn === undefined) throw new Error('IKE_AUTH without connection');
    const idI = encodeIdentity(conn.localId);
    sa.idI = { type: idI.idType, data: idI.data };
    const signed = conn.localAuth === undefined ? undefined : localSignatureAuth(ctx, 'i');
    const psk = signed === undefined ? core.psk(conn.localId, conn.remoteId) : undefined;
    if (signed === undefined && psk === undefined)
      throw new IkeError(0, `no PSK for ${formatIdentity(conn.localId)} - ${formatIdentity(conn.remoteId)}`);
    const out: Payload[] = [{ type: PayloadType.IDi, idType: idI.idType, data: idI.data }];
    if (signed !== undefined) out.push(...signed.certs, ...certReqPayloads([conn]));
    if (isConcreteIdentity(conn.remoteId)) {
      const idR = encodeIdentity(conn.remoteId);
      out.push({ type: PayloadType.IDr, idType: idR.idType, data: idR.data });
    }
    if (signed !== undefined) out.push(signed.auth);
    else if (psk !== undefined)
      out.push({
        type: PayloadType.AUTH,
        method: AuthMethod.SHARED_KEY_MESSAGE_INTEGRITY_CODE,
        data: authFor(sa, psk, 'i'),
      });
    if (conn.sendInitialContact) out.push(notify(NotifyType.INITIAL_CONTACT));
    return out;
  }

  processI(ctx: TaskContext, payloads: readonly Payload[]): TaskResult {
    const { sa, core } = ctx;
    const conn = sa.conn;
    if (conn === undefined) throw new Error('IKE_AUTH without connection');
    const err = errorNotify(payloads);
    if (err !== undefined && err.notifyType === NotifyType.AUTHENTICATION_FAILED)
      throw new IkeError(err.notifyType, 'peer refused our authentication (AUTHENTICATION_FAILED)');
    const idP = first(payloads, PayloadType.IDr);
    const authP = first(payloads, PayloadType.AUTH);
    if (idP === undefined || authP === undefined) {
      if (err !== undefined)
        throw new IkeError(err.notifyType, `IKE_AUTH failed: peer sent ${nameOf(NotifyType, err.notifyType)}`);
      throw new IkeError(NotifyType.AUTHENTICATION_FAILED, 'IKE_AUTH response without IDr or AUTH');
    }
    const peer = decodeIdentity(idP.idType, idP.data);
    if (peer === undefined || !identityMatches(conn.remoteId, peer))
      throw new IkeError(NotifyType.AUTHENTICATION_FAILED, 'peer identity does not match the configured remote id');
    sa.idR = { type: idP.idType, data: Buffer.from(idP.data) };
    if (conn.remoteAuth !== undefined) verifyPeerSignature(ctx, conn.remoteAuth, peer, authP, payloads, 'r');
    else {
      if (authP.method !== AuthMethod.SHARED_KEY_MESSAGE_INTEGRITY_CODE)
        throw new IkeError(NotifyType.AUTHENTICATION_FAILED, `peer used AUTH method ${authP.method}, PSK expected`);
      const psk = core.psk(conn.localId, peer);
      if (psk === undefined || !verifyAuth(authFor(sa, psk, 'r'), authP.data))
        throw new IkeError(NotifyType.AUTHENTICATION_FAILED, `PSK authentication of ${formatIdentity(peer)} failed`);
      core.log.log(
        'ike',
        LogLevel.CONTROL,
        `authentication of '${formatIdentity(peer)}' with pre-shared key successful`,
        sa.label,
      );
    }
    core.establishIke(sa, ctx.nowMs);
    return 'done';
  }

  processR(ctx: TaskContext, payloads: readonly Payload[]): void {
    const { sa, core } = ctx;
    const idP = first(payloads, PayloadType.IDi);
    const authP = first(payloads, PayloadType.AUTH);
    if (idP === undefined || authP === undefined)
      throw new IkeError(
        NotifyType.AUTHENTICATION_FAILED,
        'IKE_AUTH request without IDi or AUTH (EAP is not supported)',
      );
    const peer = decodeIdentity(idP.idType, idP.data);
    if (peer === undefined) throw new IkeError(NotifyType.AUTHENTICATION_FAILED, `unsupported ID type ${idP.idType}`);
    notePeerCapabilities(sa, payloads);
    const idRP = first(payloads, PayloadType.IDr);
    const wanted = idRP === undefined ? undefined : decodeIdentity(idRP.idType, idRP.data);
    sa.idI = { type: idP.idType, data: Buffer.from(idP.data) };
    // Pick the connection by addresses and identities, best match first (the IKE proposal was already
    // accepted with sa.conn's proposals); peers of EAP connections must run EAP (ike-eap.ts).
    const candidates = connectionsForAuth(core.connections(), sa.local.address, sa.remote.address, peer, wanted).filter(
      (c) => c.eapServer === undefined && c.proposals.join() === (sa.conn?.proposals.join() ?? c.proposals.join()),
    );
    const conn: ConnectionConfig | undefined = candidates[0];
    if (conn === undefined)
      throw new IkeError(
        NotifyType.AUTHENTICATION_FAILED,
        `no connection matches peer identity '${formatIdentity(peer)}' at ${sa.remote.address}`,
      );
    sa.conn = conn;
    sa.label = `${conn.name}[${sa.id}]`;
    if (conn.remoteAuth !== undefined) verifyPeerSignature(ctx, conn.remoteAuth, peer, authP, payloads, 'i');
    else {
      if (authP.method !== AuthMethod.SHARED_KEY_MESSAGE_INTEGRITY_CODE)
        throw new IkeError(NotifyType.AUTHENTICATION_FAILED, `peer used AUTH method ${authP.method}, PSK expected`);
      const psk = core.psk(conn.localId, peer);
      if (psk === undefined)
        throw new IkeError(NotifyType.AUTHENTICATION_FAILED, `no PSK for '${formatIdentity(peer)}'`);
      if (!verifyAuth(authFor(sa, psk, 'i'), authP.data))
        throw new IkeError(NotifyType.AUTHENTICATION_FAILED, `PSK authentication of '${formatIdentity(peer)}' failed`);
      core.log.log(
        'ike',
        LogLevel.CONTROL,
        `authentication of '${formatIdentity(peer)}' with pre-shared key successful`,
        sa.label,
      );
    }
    this.peer = peer;
    this.initialContact = findNotify(payloads, NotifyType.INITIAL_CONTACT) !== undefined;
    const idR = encodeIdentity(conn.localId);
    sa.idR = { type: idR.idType, data: idR.data };
  }

  buildR(ctx: TaskContext): Payload[] {
    const { sa, core } = ctx;
    const conn = sa.conn;
    if (conn === undefined || sa.idR === undefined || this.peer === undefined)
      throw new Error('IKE_AUTH response before request');
    if (conn.localAuth !== undefined) {
      const signed = localSignatureAuth(ctx, 'r');
      return [{ type: PayloadType.IDr, idType: sa.idR.type, data: sa.idR.data }, ...signed.certs, signed.auth];
    }
    const psk = core.psk(conn.localId, this.peer);
    if (psk === undefined) throw new Error('PSK vanished');
    return [
      { type: PayloadType.IDr, idType: sa.idR.type, data: sa.idR.data },
      { type: PayloadType.AUTH, method: AuthMethod.SHARED_KEY_MESSAGE_INTEGRITY_CODE, data: authFor(sa, psk, 'r') },
    ];
  }

  completed(ctx: TaskContext): void {
    const { sa, core } = ctx;
    if (sa.initiator) return;
    if (this.initialContact && this.peer !== undefined) core.initialContact(sa, this.peer);
    core.establishIke(sa, ctx.nowMs);
  }
}
