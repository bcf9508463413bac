/**
 * SAs coming and going, as the audit log and `--save-keys` record them: one line per IKE_SA or CHILD_SA
 * established or deleted, and Wireshark's key tables kept current.
 */
import type { Logger } from '../common/log.js';
import { LogLevel } from '../common/log.js';
import type { IkeEngine } from '../ike/engine.js';
import type { ChildSaInfo, IkeEvent } from '../ike/events.js';
import { formatTs } from '../ike/traffic-selectors.js';
import type { ChildRecord } from './child-installer.js';
import { hex8 } from './control-views.js';
import { espSasOfChild, ikeSaOfKeys } from './save-keys.js';
import type { SaveKeysFiles } from './save-keys.js';

type Established = Extract<IkeEvent, { type: 'ikeSaEstablished' }>;
type Deleted = Extract<IkeEvent, { type: 'ikeSaDeleted' }>;

export class SaLog {
  readonly #log: Logger;
  readonly #engine: IkeEngine;
  readonly #saveKeys: SaveKeysFiles | undefined;

  constructor(log: Logger, engine: IkeEngine, saveKeys: SaveKeysFiles | undefined) {
    this.#log = log;
    this.#engine = engine;
    this.#saveKeys = saveKeys;
  }

  ikeUp(ev: Established): void {
    this.#saveIkeKeys(ev.ikeSaId);
    this.#log.log(
      'ike',
      LogLevel.AUDIT,
      `IKE_SA ${ev.name}[${ev.ikeSaId}] established between ${ev.local.address}[${ev.localId}]...${ev.remote.address}[${ev.remoteId}]` +
        (ev.localEapId !== undefined ? `, we logged in with EAP as '${ev.localEapId}'` : '') +
        (ev.remoteEapId !== undefined ? `, the peer logged in with EAP as '${ev.remoteEapId}'` : '') +
        (ev.rekeyOf !== undefined ? `, rekeying ${ev.name}[${ev.rekeyOf}]` : '') +
        (ev.reauthOf !== undefined ? `, reauthenticating ${ev.name}[${ev.reauthOf}]` : ''),
    );
  }

  ikeDown(ev: Deleted): void {
    this.#saveKeys?.removeIke(ev.ikeSaId);
    this.#log.log('ike', LogLevel.AUDIT, `IKE_SA ${ev.name}[${ev.ikeSaId}] deleted: ${ev.reason}`);
  }

  childUp(rec: ChildRecord): void {
    const c = rec.info;
    this.#saveKeys?.addChild(c.id, espSasOfChild(c));
    const ts = `${c.tsLocal.map(formatTs).join(' ')} === ${c.tsRemote.map(formatTs).join(' ')}`;
    this.#log.log(
      'chd',
      LogLevel.AUDIT,
      `CHILD_SA ${c.name}{${c.id}} established with SPIs ${hex8(c.spiIn)}_i ${hex8(c.spiOut)}_o and TS ${ts}`,
    );
  }

  childDown(c: ChildSaInfo, reason: string): void {
    this.#saveKeys?.removeChild(c.id);
    this.#log.log('chd', LogLevel.AUDIT, `CHILD_SA ${c.name}{${c.id}} deleted: ${reason}`);
  }

  #saveIkeKeys(ikeSaId: number): void {
    if (this.#saveKeys === undefined) return;
    const sa = this.#engine.ikeSas().find((x) => x.id === ikeSaId);
    if (sa?.keys === undefined || sa.proposal?.encr === undefined) return;
    const t = {
      encrId: sa.proposal.encr.id,
      encrKeyBits: sa.proposal.encr.keyLengthBits ?? 0,
      integId: sa.proposal.integ ?? 0,
    };
    this.#saveKeys.addIke(ikeSaId, ikeSaOfKeys(sa.spiI, sa.spiR, t, sa.keys));
  }
}
