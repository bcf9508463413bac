/**
 * MS-CHAPv2 computations (RFC 2759 section 8) and the MPPE key derivation (RFC 3079 section 3.4) that EAP-MSCHAPv2
 * turns into its MSK. Names follow the RFCs' pseudo-code.
 */
import { createHash } from 'node:crypto';
import { DES_BLOCK_LENGTH, desEncryptBlock, md4Digest } from './legacy-crypto.js';

export const CHALLENGE_LENGTH = 16;
export const NT_RESPONSE_LENGTH = 24;
export const PASSWORD_HASH_LENGTH = 16;
/** ChallengeHash output (RFC 2759 8.2). */
const CHALLENGE_HASH_LENGTH = 8;
/** DES keys of ChallengeResponse are 7 bytes of the zero-padded 21-byte password hash (RFC 2759 8.5). */
const DES_KEY_BYTES = 7;
const Z_PASSWORD_HASH_LENGTH = 3 * DES_KEY_BYTES;
/** RFC 3079 3.4: 16-byte master and session keys here (128-bit MPPE). */
export const MASTER_KEY_LENGTH = 16;
export const SESSION_KEY_LENGTH = 16;
/** EAP-MSCHAPv2 MSK: MasterReceiveKey | MasterSendKey | 32 zero octets (as strongSwan and Windows build it). */
export const MSK_LENGTH = 64;

/** RFC 2759 8.7 Magic1 and Magic2. */
const AUTH_MAGIC1 = Buffer.from('Magic server to client signing constant', 'ascii');
const AUTH_MAGIC2 = Buffer.from('Pad to make it do more than one iteration', 'ascii');
/** RFC 3079 3.4 Magic1, Magic2, Magic3, SHSpad1, SHSpad2. */
const MPPE_MAGIC1 = Buffer.from('This is the MPPE Master Key', 'ascii');
const MPPE_MAGIC2 = Buffer.from(
  'On the client side, this is the send key; on the server side, it is the receive key.',
  'ascii',
);
const MPPE_MAGIC3 = Buffer.from(
  'On the client side, this is the receive key; on the server side, it is the send key.',
  'ascii',
);
const SHS_PAD1 = Buffer.alloc(40, 0x00);
const SHS_PAD2 = Buffer.alloc(40, 0xf2);

function sha1(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** RFC 2759 8.3 NtPasswordHash: MD4 of the password in UTF-16LE ("Unicode"). */
export function ntPasswordHash(password: string): Buffer {
  return md4Digest(Buffer.from(password, 'utf16le'));
}

/** RFC 2759 8.4 HashNtPasswordHash. */
export function hashNtPasswordHash(passwordHash: Uint8Array): Buffer {
  return md4Digest(passwordHash);
}

/** RFC 2759 8.2 ChallengeHash: the first 8 bytes of SHA1(PeerChallenge | AuthenticatorChallenge | UserName). */
export function challengeHash(
  peerChallenge: Uint8Array,
  authenticatorChallenge: Uint8Array,
  userName: Uint8Array,
): Buffer {
  return sha1(peerChallenge, authenticatorChallenge, userName).subarray(0, CHALLENGE_HASH_LENGTH);
}

/** RFC 2759 8.6 DesEncrypt's key: 56 bits spread over 8 bytes, 7 bits each in the high bits (parity bit left 0). */
function desKey(seven: Uint8Array): Buffer {
  const out = Buffer.alloc(8);
  for (let i = 0; i < 8; i++) {
    let v = 0;
    for (let b = 0; b < 7; b++) {
      const bit = i * 7 + b;
      v = (v << 1) | (((seven[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1);
    }
    out[i] = v << 1;
  }
  return out;
}

/** RFC 2759 8.5 ChallengeResponse: three DES encryptions of the challenge under the zero-padded password hash. */
export function challengeResponse(challenge: Uint8Array, passwordHash: Uint8Array): Buffer {
  if (challenge.length !== DES_BLOCK_LENGTH || passwordHash.length !== PASSWORD_HASH_LENGTH)
    throw new RangeError('ChallengeResponse takes an 8-byte challenge and a 16-byte password hash');
  const z = Buffer.alloc(Z_PASSWORD_HASH_LENGTH);
  z.set(passwordHash);
  return Buffer.concat(
    [0, 1, 2].map((i) => desEncryptBlock(desKey(z.subarray(i * DES_KEY_BYTES, (i + 1) * DES_KEY_BYTES)), challenge)),
  );
}

/** RFC 2759 8.1 GenerateNTResponse, from the NT password hash. */
export function generateNtResponse(
  authenticatorChallenge: Uint8Array,
  peerChallenge: Uint8Array,
  userName: Uint8Array,
  passwordHash: Uint8Array,
): Buffer {
  return challengeResponse(challengeHash(peerChallenge, authenticatorChallenge, userName), passwordHash);
}

/** RFC 2759 8.7 GenerateAuthenticatorResponse: `S=` and 40 upper-case hex digits. */
export function generateAuthenticatorResponse(
  passwordHash: Uint8Array,
  ntResponse: Uint8Array,
  peerChallenge: Uint8Array,
  authenticatorChallenge: Uint8Array,
  userName: Uint8Array,
): string {
  const digest = sha1(hashNtPasswordHash(passwordHash), ntResponse, AUTH_MAGIC1);
  const challenge = challengeHash(peerChallenge, authenticatorChallenge, userName);
  return `S=${sha1(digest, challenge, AUTH_MAGIC2).toString('hex').toUpperCase()}`;
}

/** RFC 3079 3.4 GetMasterKey. */
export function getMasterKey(passwordHashHash: Uint8Array, ntResponse: Uint8Array): Buffer {
  return sha1(passwordHashHash, ntResponse, MPPE_MAGIC1).subarray(0, MASTER_KEY_LENGTH);
}

/** RFC 3079 3.4 GetAsymmetricStartKey. */
export function getAsymmetricStartKey(
  masterKey: Uint8Array,
  sessionKeyLength: number,
  isSend: boolean,
  isServer: boolean,
): Buffer {
  const magic = isSend === isServer ? MPPE_MAGIC3 : MPPE_MAGIC2;
  return sha1(masterKey, SHS_PAD1, magic, SHS_PAD2).subarray(0, sessionKeyLength);
}

/** RFC 3079 3.3 GetNewKeyFromSHA (the initial session key is GetNewKeyFromSHA(StartKey, StartKey, length)). */
export function getNewKeyFromSha(startKey: Uint8Array, sessionKey: Uint8Array, sessionKeyLength: number): Buffer {
  return sha1(
    startKey.subarray(0, sessionKeyLength),
    SHS_PAD1,
    sessionKey.subarray(0, sessionKeyLength),
    SHS_PAD2,
  ).subarray(0, sessionKeyLength);
}

/**
 * The EAP-MSCHAPv2 MSK (64 bytes, the same on both ends): the authenticator's receive key (Magic2), its send key
 * (Magic3), then 32 zero octets, as strongSwan (eap_mschapv2) and Windows' IKEv2 client build it.
 */
export function mschapv2Msk(passwordHashHash: Uint8Array, ntResponse: Uint8Array): Buffer {
  const master = getMasterKey(passwordHashHash, ntResponse);
  const msk = Buffer.alloc(MSK_LENGTH);
  msk.set(getAsymmetricStartKey(master, SESSION_KEY_LENGTH, false, true), 0);
  msk.set(getAsymmetricStartKey(master, SESSION_KEY_LENGTH, true, true), SESSION_KEY_LENGTH);
  return msk;
}
