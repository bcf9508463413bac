/**
 * IKE_AUTH with EAP (RFC 7296 2.16): the initiator leaves out AUTH, the responder authenticates itself (with its
 * certificate, as RFC 7296 2.16 expects, or its PSK) and runs EAP (src/eap) over further IKE_AUTH exchanges; both
 * then send AUTH computed with the MSK, or with SK_pi / SK_pr for methods without one (EAP-MD5), as a pre-shared key
 * over their signed octets.
 *
 *   HDR, SK { IDi, [CERTREQ,] [IDr,] [N(INITIAL_CONTACT),] [CP,] SAi2, TSi, TSr } -->
 *                                   <-- HDR, SK { IDr, [CERT+,] AUTH, EAP(Request) }
 *   HDR, SK { EAP(Response) } -->
 *                                   <-- HDR, SK { EAP(Request | Success) }     ... until EAP-Success
 *   HDR, SK { AUTH } -->
 *                                   <-- HDR, SK { AUTH, [CP,] SAr2, TSi, TSr }
 *
 * The other IKE_AUTH tasks (ike-config, child-create) wait while `authenticationPending(sa)`: the initiator's repeat
 * in each round without payloads, the responder's keep the first request's payloads and answer in the last round.
 * The task manager keeps the responder's IKE_AUTH tasks from one round to the next.
 */
import { timingSafeEqual } from 'node:crypto';
import { LogLevel } from '../../common/log.js';
import { EapPeer } from '../../eap/eap-peer.js';
import type { EapPeerStep } from '../../eap/eap-peer.js';
import { EapServer } from '../../eap/eap-server.js';
import type { EapServerStep } from '../../eap/eap-server.js';
import type { EapTlsConfig } from '../../eap/eap-tls.js';
import { EapType, nameOf as eapName } from '../../eap/constants.js';
import { eapMethodByType } from '../../eap/method-names.js';
import { AuthMethod, ExchangeType, NotifyType, PayloadType } from '../codec/constants.js';
import type { EapPayload, Payload } from '../codec/types.js';
import type { ConnectionConfig, EapTlsSettings, IkeIdentity } from '../config.js';
import { connectionsForAuth } from '../connection-select.js';
import { IkeError } from '../errors.js';
import { decodeIdentity, encodeIdentity, formatIdentity, identityMatches } from '../identity.js';
import { pskAuth, signedOctets } from '../keymat.js';
import { errorNotify, findNotify, first, notify } from '../payload-util.js';
import { certReqPayloads, localSignatureAuth, notePeerCapabilities, verifyPeerSignature } from '../auth-pubkey.js';
import type { IkeSa } from '../sa.js';
import type { Task, TaskContext, TaskResult } from '../task.js';

/** IKE_SAs whose peer is still being authenticated by EAP (the other IKE_AUTH tasks wait). */
const pending = new WeakSet<IkeSa>();

export function authenticationPending(sa: IkeSa): boolean {
  return pending.has(sa);
}

/** The EAP identity the peer authenticated with (for pool leases and logs). */
export function eapIdentityOf(sa: IkeSa): string | undefined {
  return sa.remoteEapId;
}

/** The AUTH value `sender` computes with `key` as the shared secret over its own IKE_SA_INIT message (2.15, 2.16). */
function authWith(sa: IkeSa, key: Uint8Array | undefined, sender: 'i' | 'r'): Buffer {
  const { prf, keys } = sa;
  const id = sender === 'i' ? sa.idI : sa.idR;
  if (prf === undefined || keys === undefined || id === undefined) throw new Error('AUTH before keys and IDs');
  const skP = sender === 'i' ? keys.skPi : keys.skPr;
  const octets =
    sender === 'i'
      ? signedOctets(prf, sa.initRequest, sa.nonceR, skP, id.type, id.data)
      : signedOctets(prf, sa.initResponse, sa.nonceI, skP, id.type, id.data);
  return pskAuth(prf, key ?? skP, octets);
}

function same(a: Buffer, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function eapOf(payloads: readonly Payload[]): EapPayload | undefined {
  return payloads.find((p): p is EapPayload => p.type === PayloadType.EAP);
}

const authFailed = (reason: string): IkeError => new IkeError(NotifyType.AUTHENTICATION_FAILED, reason);

export class IkeEapTask implements Task {
  readonly kind = 'ike-eap';
  readonly exchangeType = ExchangeType.IKE_AUTH;
  private round = 0;
  /** Initiator: the EAP client and the next EAP response to send. */
  private peer: EapPeer | undefined;
  private nextEap: Buffer | undefined;
  /** Initiator: why our EAP client gave up, while its last response (MS-CHAPv2 Failure) is on its way. */
  private failing: string | undefined;
  /** Both: EAP succeeded; the MSK (undefined for methods without one). */
  private eapDone = false;
  private msk: Buffer | undefined;
  /** Responder: the EAP server, the peer's identity, what to answer. */
  private server: EapServer | undefined;
  private peerId: IkeIdentity | undefined;
  private reply: Payload[] = [];
  private initialContact = false;
  private authenticated = false;
  /** Both: the EAP method's step still running (EAP-TLS), and the clock its certificate checks read. */
  private waiting: Promise<void> | undefined;
  private nowMs = 0;

  waitingFor(): Promise<void> | undefined {
    return this.waiting;
  }

  private tlsConfig(
    settings: EapTlsSettings | undefined,
    peerIdentity: IkeIdentity | undefined,
  ): EapTlsConfig | undefined {
    if (settings === undefined) return undefined;
    const peer = settings.peerIdentity ?? peerIdentity;
    return {
      credentials: settings.credentials,
      channel: settings.channel,
      ...(settings.fragmentSize === undefined ? {} : { fragmentSize: settings.fragmentSize }),
      ...(peer === undefined ? {} : { peerIdentity: peer }),
      nowMs: () => settings.wallClockMs?.(this.nowMs) ?? this.nowMs,
    };
  }

  // ---- initiator: EAP client -------------------------------------------------------------------------------

  buildI(ctx: TaskContext): Payload[] {
    const { sa, core } = ctx;
    const conn = sa.conn;
    const client = conn?.eapClient;
    if (conn === undefined || client === undefined) throw new Error('EAP client without configuration');
    this.nowMs = ctx.nowMs;
    if (this.round++ === 0) {
      const password = core.config.eapPassword?.(client.identity);
      // Methods with a certificate credential (EAP-TLS) need no password; the others do.
      const needsPassword = (client.methods ?? [EapType['EAP-MSCHAP-V2']]).some(
        (m) => eapMethodByType(m)?.credential !== 'certificate',
      );
      if (password === undefined && needsPassword) throw new IkeError(0, `no EAP secret for '${client.identity}'`);
      const tls = this.tlsConfig(client.tls, conn.remoteId);
      this.peer = new EapPeer({
        rng: core.rng,
        identity: client.identity,
        password: password ?? '',
        ...(client.methods === undefined ? {} : { methods: client.methods }),
        ...(tls === undefined ? {} : { tls }),
      });
      const idI = encodeIdentity(conn.localId);
      sa.idI = { type: idI.idType, data: idI.data };
      const out: Payload[] = [{ type: PayloadType.IDi, idType: idI.idType, data: idI.data }];
      if (conn.remoteAuth !== undefined) out.push(...certReqPayloads([conn]));
      if (conn.remoteId.type !== 'any') {
        const idR = encodeIdentity(conn.remoteId);
        out.push({ type: PayloadType.IDr, idType: idR.idType, data: idR.data });
      }
      if (conn.sendInitialContact) out.push(notify(NotifyType.INITIAL_CONTACT));
      return out;
    }
    if (this.eapDone)
      return [
        {
          type: PayloadType.AUTH,
          method: AuthMethod.SHARED_KEY_MESSAGE_INTEGRITY_CODE,
          data: authWith(sa, this.msk, 'i'),
        },
      ];
    if (this.waiting !== undefined && this.peer !== undefined) {
      // The method's step settled (task manager): its response is this request.
      this.waiting = undefined;
      this.peerStep(ctx, this.peer.resume());
      if (this.waiting !== undefined) throw new Error('EAP method still pending after it settled');
      if (this.eapDone) return this.buildI(ctx);
      if (this.nextEap === undefined) throw authFailed(this.failing ?? 'EAP method gave no response');
    }
    if (this.nextEap === undefined) throw new Error('no EAP response to send');
    return [{ type: PayloadType.EAP, data: this.nextEap }];
  }

  processI(ctx: TaskContext, payloads: readonly Payload[]): TaskResult {
    const { sa, core } = ctx;
    const conn = sa.conn;
    if (conn === undefined || this.peer === undefined) throw new Error('EAP client without configuration');
    const err = errorNotify(payloads);
    if (err !== undefined && err.notifyType === NotifyType.AUTHENTICATION_FAILED)
      throw authFailed(
        `peer refused our authentication (AUTHENTICATION_FAILED)${this.failing === undefined ? '' : `: ${this.failing}`}`,
      );
    if (this.failing !== undefined) throw authFailed(this.failing);
    if (this.round === 1) this.verifyResponder(ctx, conn, payloads);
    if (this.eapDone) {
      const authP = first(payloads, PayloadType.AUTH);
      if (authP === undefined || !same(authWith(sa, this.msk, 'r'), authP.data))
        throw authFailed('the responder did not prove the EAP key (AUTH with the MSK)');
      core.log.log(
        'ike',
        LogLevel.CONTROL,
        `EAP authentication with '${this.peerName(sa)}' successful (its AUTH proves the EAP key)`,
        sa.label,
      );
      core.establishIke(sa, ctx.nowMs);
      return 'done';
    }
    const eap = eapOf(payloads);
    if (eap === undefined) {
      if (err !== undefined) throw new IkeError(err.notifyType, `IKE_AUTH failed: peer sent ${err.notifyType}`);
      throw authFailed('IKE_AUTH response without EAP');
    }
    this.nowMs = ctx.nowMs;
    this.peerStep(ctx, this.peer.process(eap.data));
    return 'retry';
  }

  /** Take the EAP client's step: the next response to send, success (AUTH next), or failure. */
  private peerStep(ctx: TaskContext, step: EapPeerStep): void {
    const { sa, core } = ctx;
    this.nextEap = undefined;
    switch (step.kind) {
      case 'pending':
        this.waiting = step.ready;
        return;
      case 'response':
        this.nextEap = step.packet;
        return;
      case 'success':
        core.log.log(
          'ike',
          LogLevel.CONTROL,
          `EAP method ${eapName(EapType, step.method)} succeeded, ${step.msk === undefined ? 'no MSK established' : 'MSK established'}`,
          sa.label,
        );
        this.eapDone = true;
        this.msk = step.msk;
        sa.localEapId = sa.conn?.eapClient?.identity;
        return;
      case 'failure':
        if (step.packet === undefined) throw authFailed(`EAP authentication failed: ${step.reason}`);
        // Send the method's last response (MS-CHAPv2 Failure, a TLS alert) so that the server ends the conversation.
        this.failing = `EAP authentication failed: ${step.reason}`;
        this.nextEap = step.packet;
    }
  }

  private verifyResponder(ctx: TaskContext, conn: ConnectionConfig, payloads: readonly Payload[]): void {
    const { sa, core } = ctx;
    const idP = first(payloads, PayloadType.IDr);
    const authP = first(payloads, PayloadType.AUTH);
    if (idP === undefined || authP === undefined) throw authFailed('first EAP IKE_AUTH response without IDr or AUTH');
    const peer = decodeIdentity(idP.idType, idP.data);
    if (peer === undefined || !identityMatches(conn.remoteId, peer))
      throw authFailed('peer identity does not match the configured remote id');
    sa.idR = { type: idP.idType, data: Buffer.from(idP.data) };
    if (conn.remoteAuth !== undefined) {
      verifyPeerSignature(ctx, conn.remoteAuth, peer, authP, payloads, 'r');
      return;
    }
    if (authP.method !== AuthMethod.SHARED_KEY_MESSAGE_INTEGRITY_CODE)
      throw authFailed(`peer used AUTH method ${authP.method}, PSK expected`);
    const psk = core.psk(conn.localId, peer);
    if (psk === undefined || !same(authWith(sa, psk, 'r'), authP.data))
      throw authFailed(`PSK authentication of ${formatIdentity(peer)} failed`);
    core.log.log(
      'ike',
      LogLevel.CONTROL,
      `authentication of '${formatIdentity(peer)}' with pre-shared key successful`,
      sa.label,
    );
  }

  private peerName(sa: IkeSa): string {
    const id = sa.initiator ? sa.idR : sa.idI;
    const d = id === undefined ? undefined : decodeIdentity(id.type, id.data);
    return d === undefined ? '?' : formatIdentity(d);
  }

  // ---- responder: EAP server -------------------------------------------------------------------------------

  processR(ctx: TaskContext, payloads: readonly Payload[]): void {
    const { sa, core } = ctx;
    this.nowMs = ctx.nowMs;
    if (this.waiting !== undefined && this.server !== undefined) {
      // The method's step settled (the task manager runs us again with the same request): answer it now.
      this.waiting = undefined;
      this.serverStep(ctx, this.server.resume());
      return;
    }
    this.round++;
    if (this.server === undefined) {
      this.start(ctx, payloads);
      return;
    }
    const conn = sa.conn;
    if (conn === undefined) throw new Error('EAP without connection');
    if (this.eapDone) {
      const authP = first(payloads, PayloadType.AUTH);
      if (authP === undefined) throw authFailed('no AUTH after EAP-Success');
      if (
        authP.method !== AuthMethod.SHARED_KEY_MESSAGE_INTEGRITY_CODE ||
        !same(authWith(sa, this.msk, 'i'), authP.data)
      )
        throw authFailed(`EAP AUTH of '${sa.remoteEapId ?? '?'}' failed (not keyed with the MSK)`);
      core.log.log('ike', LogLevel.CONTROL, `authentication of '${this.peerName(sa)}' with EAP successful`, sa.label);
      pending.delete(sa);
      this.authenticated = true;
      this.reply = [
        {
          type: PayloadType.AUTH,
          method: AuthMethod.SHARED_KEY_MESSAGE_INTEGRITY_CODE,
          data: authWith(sa, this.msk, 'r'),
        },
      ];
      return;
    }
    const eap = eapOf(payloads);
    if (eap === undefined) throw authFailed('IKE_AUTH request without EAP during EAP');
    this.serverStep(ctx, this.server.process(eap.data));
  }

  /** Take the EAP server's step: the next request, success (AUTH next), failure, or wait for the method. */
  private serverStep(ctx: TaskContext, step: EapServerStep): void {
    const { sa, core } = ctx;
    switch (step.kind) {
      case 'pending':
        this.waiting = step.ready;
        this.reply = [];
        return;
      case 'request': {
        this.reply = [{ type: PayloadType.EAP, data: step.packet }];
        // The peer may end the exchange rather than answer the method's failure message: say why now.
        const failing = this.server?.failing;
        if (failing !== undefined)
          core.log.log(
            'ike',
            LogLevel.CONTROL,
            `EAP authentication of '${this.peerName(sa)}' at ${sa.remote.address} failed: ${failing}`,
            sa.label,
          );
        return;
      }
      case 'failure':
        throw authFailed(`EAP authentication of '${this.peerName(sa)}' at ${sa.remote.address} failed: ${step.reason}`);
      case 'success': {
        const required = sa.conn?.eapServer?.identity;
        if (required !== undefined && step.identity !== required)
          throw authFailed(
            `EAP identity '${step.identity}' of '${this.peerName(sa)}' is not the configured eap_id '${required}'`,
          );
        core.log.log(
          'ike',
          LogLevel.CONTROL,
          `EAP method ${eapName(EapType, step.method)} succeeded for '${step.identity}', ${step.msk === undefined ? 'no MSK established' : 'MSK established'}`,
          sa.label,
        );
        this.eapDone = true;
        this.msk = step.msk;
        sa.remoteEapId = step.identity;
        this.reply = [{ type: PayloadType.EAP, data: step.packet }];
      }
    }
  }

  /** First round: pick the connection by identities among those whose peers use EAP; authenticate ourselves. */
  private start(ctx: TaskContext, payloads: readonly Payload[]): void {
    const { sa, core } = ctx;
    const idP = first(payloads, PayloadType.IDi);
    if (idP === undefined) throw authFailed('IKE_AUTH request without IDi');
    const peer = decodeIdentity(idP.idType, idP.data);
    if (peer === undefined) throw authFailed(`unsupported ID type ${idP.idType}`);
    const idRP = first(payloads, PayloadType.IDr);
    const wanted = idRP === undefined ? undefined : decodeIdentity(idRP.idType, idRP.data);
    sa.idI = { type: idP.idType, data: Buffer.from(idP.data) };
    notePeerCapabilities(sa, payloads);
    const conn = connectionsForAuth(core.connections(), sa.local.address, sa.remote.address, peer, wanted).find(
      (c) => c.eapServer !== undefined && c.proposals.join() === (sa.conn?.proposals.join() ?? c.proposals.join()),
    );
    const settings = conn?.eapServer;
    if (conn === undefined || settings === undefined)
      throw authFailed(`no connection authenticates '${formatIdentity(peer)}' with EAP`);
    sa.conn = conn;
    sa.label = `${conn.name}[${sa.id}]`;
    const psk = conn.localAuth === undefined ? core.psk(conn.localId, peer) : undefined;
    if (conn.localAuth === undefined && psk === undefined)
      throw authFailed(`no PSK to authenticate ourselves to '${formatIdentity(peer)}'`);
    this.peerId = peer;
    this.initialContact = findNotify(payloads, NotifyType.INITIAL_CONTACT) !== undefined;
    const idR = encodeIdentity(conn.localId);
    sa.idR = { type: idR.idType, data: idR.data };
    this.server = new EapServer({
      rng: core.rng,
      methods: settings.methods,
      password: (identity) => core.config.eapPassword?.(identity),
      ...(settings.askIdentity ? {} : { identity: formatIdentity(peer) }),
      serverName: formatIdentity(conn.localId),
      ...this.tlsOption(settings.tls),
    });
    const step = this.server.start();
    const ours: Payload[] =
      psk !== undefined
        ? [
            {
              type: PayloadType.AUTH,
              method: AuthMethod.SHARED_KEY_MESSAGE_INTEGRITY_CODE,
              data: authWith(sa, psk, 'r'),
            },
          ]
        : ((s) => [...s.certs, s.auth])(localSignatureAuth(ctx, 'r'));
    pending.add(sa);
    this.reply = [
      { type: PayloadType.IDr, idType: idR.idType, data: idR.data },
      ...ours,
      { type: PayloadType.EAP, data: step.packet },
    ];
  }

  private tlsOption(settings: EapTlsSettings | undefined): { tls?: EapTlsConfig } {
    const tls = this.tlsConfig(settings, undefined);
    return tls === undefined ? {} : { tls };
  }

  buildR(): Payload[] {
    return this.reply;
  }

  completed(ctx: TaskContext): void {
    const { sa, core } = ctx;
    if (sa.initiator || !this.authenticated) return;
    if (this.initialContact && this.peerId !== undefined) core.initialContact(sa);
    core.establishIke(sa, ctx.nowMs);
  }

  failed(ctx: TaskContext): void {
    pending.delete(ctx.sa);
    this.server?.close();
    this.peer?.close();
  }
}
