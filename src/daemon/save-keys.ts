/**
 * `tsipsec daemon --save-keys DIR`: Wireshark decryption tables for the SAs this daemon negotiates, in the
 * layout strongSwan's save-keys plugin writes, so a capture can be decrypted by an independent implementation.
 * The table formats are in save-keys-tables.ts.
 *
 * SaveKeysFiles keeps the current lists and rewrites both files when SAs come and go. Deleted SAs stay in the
 * files (up to a limit) so that a capture of a finished session still decrypts.
 *
 * The files hold every key, so the directory is checked before anything is written: it must be a real
 * directory (not a symbolic link), owned by the user the daemon runs as, and not writable by its group or
 * by others (else anyone who can write there could swap files under the daemon). Each file is written to a
 * temporary file with an unpredictable name, created with O_EXCL | O_NOFOLLOW and mode 0600, then renamed
 * over the old one.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  lstatSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import type { ChildSaInfo } from '../ike/events.js';
import type { IkeKeys } from '../ike/keymat.js';
import { espSaFile, ikev2TableFile } from './save-keys-tables.js';
import type { SaveKeysEspSa, SaveKeysIkeSa } from './save-keys-tables.js';

export * from './save-keys-tables.js';

export const ESP_SA_FILE = 'esp_sa';
export const IKEV2_TABLE_FILE = 'ikev2_decryption_table';
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
/** Mode bits: writable by the group, by others. */
const S_IWGRP = 0o020;
const S_IWOTH = 0o002;
/** Random bytes in a temporary file's name. */
const TMP_NAME_BYTES = 12;

/** Printed by the daemon when --save-keys is on. */
export const SAVE_KEYS_WARNING =
  'WARNING: --save-keys writes the IKE and ESP keys of every SA to disk; anyone who can read them can decrypt ' +
  'the traffic. Use it for debugging only.';

/** The key directory cannot be used safely; the message says what and how to fix it. */
export class SaveKeysError extends Error {
  override readonly name = 'SaveKeysError';
}

/** Both directions of an ESP CHILD_SA as the engine reports it ([] for AH: Wireshark's table is ESP only). */
export function espSasOfChild(c: ChildSaInfo): SaveKeysEspSa[] {
  if (c.protocol !== 'esp') return [];
  const common = { encrId: c.encrId, integId: c.integId };
  return [
    {
      ...common,
      src: c.local.address,
      dst: c.remote.address,
      spi: c.spiOut,
      encKey: c.keysOut.encr,
      integKey: c.keysOut.integ,
    },
    {
      ...common,
      src: c.remote.address,
      dst: c.local.address,
      spi: c.spiIn,
      encKey: c.keysIn.encr,
      integKey: c.keysIn.integ,
    },
  ];
}

/** An IKE_SA's table entry from its SPIs, transforms and the keys RFC 7296 2.14 derived. */
export function ikeSaOfKeys(
  spiI: Uint8Array,
  spiR: Uint8Array,
  transforms: { readonly encrId: number; readonly encrKeyBits: number; readonly integId: number },
  keys: Pick<IkeKeys, 'skEi' | 'skEr' | 'skAi' | 'skAr'>,
): SaveKeysIkeSa {
  return { spiI, spiR, ...transforms, skEi: keys.skEi, skEr: keys.skEr, skAi: keys.skAi, skAr: keys.skAr };
}

/**
 * Creates `dir` (mode 0700) when missing, then checks it can hold keys: a directory, not a symbolic link,
 * owned by `uid` (the daemon's effective user), not writable by group or others. Throws SaveKeysError.
 */
export function checkKeysDirectory(dir: string, uid = process.geteuid?.() ?? 0): void {
  try {
    mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  } catch (e) {
    throw new SaveKeysError(`--save-keys ${dir}: cannot create it (${e instanceof Error ? e.message : String(e)})`);
  }
  const st = lstatSync(dir);
  if (st.isSymbolicLink()) throw new SaveKeysError(`--save-keys ${dir} is a symbolic link; give the real directory`);
  if (!st.isDirectory()) throw new SaveKeysError(`--save-keys ${dir} is not a directory`);
  if (st.uid !== uid)
    throw new SaveKeysError(
      `--save-keys ${dir} is owned by uid ${st.uid}, not by the daemon's user (uid ${uid}); use a directory of ` +
        `your own or run: chown ${uid} ${dir}`,
    );
  if ((st.mode & (S_IWGRP | S_IWOTH)) !== 0)
    throw new SaveKeysError(
      `--save-keys ${dir} can be written by ${(st.mode & S_IWOTH) !== 0 ? 'every user' : 'its group'} (mode ` +
        `${(st.mode & 0o777).toString(8)}); run: chmod 700 ${dir}`,
    );
}

/**
 * Writes `text` to `file` with mode 0600: a new temporary file with an unpredictable name in the same
 * directory (O_EXCL | O_NOFOLLOW: never an existing file or link), then rename over `file`.
 */
export function writeFileAtomic(file: string, text: string): void {
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${randomBytes(TMP_NAME_BYTES).toString('hex')}.tmp`,
  );
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const fd = openSync(tmp, flags, FILE_MODE);
  let open = true;
  try {
    fchmodSync(fd, FILE_MODE);
    const data = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    open = false;
    closeSync(fd);
    renameSync(tmp, file);
  } catch (e) {
    if (open) closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
}

export interface SaveKeysOptions {
  /** Deleted SAs kept in the files so captures of finished sessions decrypt (default 1024 per file; 0 = none). */
  readonly keepDeleted?: number;
  /** The user the directory must belong to (default: the process's effective uid). */
  readonly uid?: number;
}

interface Entry<T> {
  readonly value: T;
  deleted: boolean;
}

/** Keeps the current IKE and ESP SAs and rewrites the two Wireshark tables in `dir` on every change. */
export class SaveKeysFiles {
  readonly dir: string;
  private readonly keepDeleted: number;
  private readonly esp = new Map<string, Entry<SaveKeysEspSa[]>>();
  private readonly ike = new Map<string, Entry<SaveKeysIkeSa>>();

  constructor(dir: string, options: SaveKeysOptions = {}) {
    this.dir = dir;
    this.keepDeleted = options.keepDeleted ?? 1024;
    checkKeysDirectory(dir, options.uid);
    this.writeEsp();
    this.writeIke();
  }

  get espSaPath(): string {
    return path.join(this.dir, ESP_SA_FILE);
  }

  get ikev2TablePath(): string {
    return path.join(this.dir, IKEV2_TABLE_FILE);
  }

  /** A CHILD_SA was installed (its key is the engine's CHILD_SA id). */
  addChild(id: number | string, sas: readonly SaveKeysEspSa[]): void {
    this.esp.delete(String(id));
    this.esp.set(String(id), { value: [...sas], deleted: false });
    this.writeEsp();
  }

  removeChild(id: number | string): void {
    if (!this.markDeleted(this.esp, String(id))) return;
    this.writeEsp();
  }

  /** An IKE_SA was established (its key is the engine's IKE_SA id). */
  addIke(id: number | string, sa: SaveKeysIkeSa): void {
    this.ike.delete(String(id));
    this.ike.set(String(id), { value: sa, deleted: false });
    this.writeIke();
  }

  removeIke(id: number | string): void {
    if (!this.markDeleted(this.ike, String(id))) return;
    this.writeIke();
  }

  private markDeleted<T>(map: Map<string, Entry<T>>, id: string): boolean {
    const e = map.get(id);
    if (e === undefined || e.deleted) return false;
    e.deleted = true;
    let deleted = 0;
    for (const x of map.values()) if (x.deleted) deleted++;
    for (const [k, x] of map) {
      if (deleted <= this.keepDeleted) break;
      if (x.deleted) {
        map.delete(k);
        deleted--;
      }
    }
    return true;
  }

  private writeEsp(): void {
    const sas: SaveKeysEspSa[] = [];
    for (const e of this.esp.values()) sas.push(...e.value);
    writeFileAtomic(this.espSaPath, espSaFile(sas));
  }

  private writeIke(): void {
    writeFileAtomic(this.ikev2TablePath, ikev2TableFile([...this.ike.values()].map((e) => e.value)));
  }
}
