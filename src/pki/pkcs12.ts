/**
 * PKCS#12 files (RFC 7292) for swanctl's `secrets.pkcs12*` and the pkcs12/ folder: the private key and the
 * certificates in them. The MAC is checked with the PKCS#12 key derivation (Appendix B); shrouded key bags are
 * decrypted by node:crypto (encrypted PKCS#8); encrypted certificate bags with PBES2 (PBKDF2, AES-CBC), as
 * OpenSSL 3 writes them. Legacy RC2/3DES certificate encryption is refused with how to re-export.
 */
import { createDecipheriv, createHash, createHmac, createPrivateKey, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { EncryptedContentInfo } from '@peculiar/asn1-cms';
import {
  AuthenticatedSafe,
  CertBag,
  id_certBag,
  id_keyBag,
  id_pkcs8ShroudedKeyBag,
  PFX,
  SafeContents,
} from '@peculiar/asn1-pfx';
import { X509Cert } from './certificate.js';

const ID_DATA = '1.2.840.113549.1.7.1';
const ID_ENCRYPTED_DATA = '1.2.840.113549.1.7.6';
const ID_PBES2 = '1.2.840.113549.1.5.13';
const ID_PBKDF2 = '1.2.840.113549.1.5.12';
const HASH_BY_OID: Readonly<Record<string, string>> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
const HMAC_BY_OID: Readonly<Record<string, string>> = {
  '1.2.840.113549.2.7': 'sha1',
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
};
const CIPHER_BY_OID: Readonly<Record<string, string>> = {
  '2.16.840.1.101.3.4.1.2': 'aes-128-cbc',
  '2.16.840.1.101.3.4.1.22': 'aes-192-cbc',
  '2.16.840.1.101.3.4.1.42': 'aes-256-cbc',
};
/** Hash block sizes for the PKCS#12 KDF. */
const BLOCK: Readonly<Record<string, number>> = { sha1: 64, sha256: 64, sha384: 128, sha512: 128 };

export class Pkcs12Error extends Error {
  override readonly name = 'Pkcs12Error';
}

/** RFC 7292 B.2 with ID = 3 (MAC key); the password as a BMPString with its two zero bytes. */
function pkcs12MacKey(hash: string, password: string, salt: Uint8Array, iterations: number, length: number): Buffer {
  const v = BLOCK[hash] ?? 64;
  const u = createHash(hash).digest().length;
  const pw = Buffer.alloc(password.length * 2 + 2);
  for (let i = 0; i < password.length; i++) pw.writeUInt16BE(password.charCodeAt(i), i * 2);
  const fill = (src: Uint8Array): Buffer => {
    if (src.length === 0) return Buffer.alloc(0);
    const out = Buffer.alloc(v * Math.ceil(src.length / v));
    for (let i = 0; i < out.length; i++) out[i] = src[i % src.length] ?? 0;
    return out;
  };
  const D = Buffer.alloc(v, 3);
  let I = Buffer.concat([fill(salt), fill(pw)]);
  const out: Buffer[] = [];
  for (let got = 0; got < length; got += u) {
    let A = createHash(hash).update(D).update(I).digest();
    for (let k = 1; k < iterations; k++) A = createHash(hash).update(A).digest();
    out.push(A);
    const B = fill(A).subarray(0, v);
    const next = Buffer.alloc(I.length);
    for (let j = 0; j < I.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = (I[j + k] ?? 0) + (B[k] ?? 0) + carry;
        next[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
    I = next;
  }
  return Buffer.concat(out).subarray(0, length);
}

function seqItems(der: ArrayBuffer | Uint8Array): asn1js.AsnType[] {
  const buf = der instanceof Uint8Array ? der.slice().buffer : der;
  const parsed = asn1js.fromBER(buf);
  if (parsed.offset === -1 || !(parsed.result instanceof asn1js.Sequence)) throw new Pkcs12Error('malformed structure');
  return parsed.result.valueBlock.value;
}

function toDer(x: asn1js.AsnType | undefined): ArrayBuffer {
  if (x === undefined) throw new Pkcs12Error('malformed structure');
  return x.toBER(false);
}

/** PBES2 (RFC 8018 6.2) with PBKDF2 and AES-CBC. */
function pbes2Decrypt(alg: AlgorithmIdentifier, data: Uint8Array, password: string): Buffer {
  if (alg.algorithm !== ID_PBES2)
    throw new Pkcs12Error(
      `certificates are encrypted with ${alg.algorithm} (legacy RC2/3DES): re-export with OpenSSL 3 defaults (openssl pkcs12 -export without -legacy)`,
    );
  if (!alg.parameters) throw new Pkcs12Error('PBES2 without parameters');
  const [kdfItem, encItem] = seqItems(alg.parameters);
  const kdf = AsnConvert.parse(toDer(kdfItem), AlgorithmIdentifier);
  const enc = AsnConvert.parse(toDer(encItem), AlgorithmIdentifier);
  if (kdf.algorithm !== ID_PBKDF2 || !kdf.parameters) throw new Pkcs12Error('PBES2 key derivation is not PBKDF2');
  const p = seqItems(kdf.parameters);
  const salt = p[0] instanceof asn1js.OctetString ? Buffer.from(p[0].valueBlock.valueHexView) : undefined;
  const iterations = p[1] instanceof asn1js.Integer ? p[1].valueBlock.valueDec : 0;
  const prfItem = p.find((x, i) => i >= 2 && x instanceof asn1js.Sequence);
  const prf =
    prfItem === undefined ? 'sha1' : HMAC_BY_OID[AsnConvert.parse(toDer(prfItem), AlgorithmIdentifier).algorithm];
  const cipher = CIPHER_BY_OID[enc.algorithm];
  if (salt === undefined || iterations <= 0 || prf === undefined || cipher === undefined || !enc.parameters)
    throw new Pkcs12Error('unsupported PBES2 parameters (PBKDF2 with HMAC-SHA1/SHA-2 and AES-CBC are)');
  const iv = Buffer.from(AsnConvert.parse(enc.parameters, OctetString).buffer);
  const keyLength = Number(cipher.split('-')[1]) / 8;
  const key = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, keyLength, prf);
  const d = createDecipheriv(cipher, key, iv);
  try {
    return Buffer.concat([d.update(data), d.final()]);
  } catch {
    throw new Pkcs12Error('wrong passphrase');
  }
}

function octets(der: ArrayBuffer): Buffer {
  return Buffer.from(AsnConvert.parse(der, OctetString).buffer);
}

export interface Pkcs12Contents {
  readonly key: KeyObject | undefined;
  readonly certs: X509Cert[];
}

/** The key and certificates of a PKCS#12 file; throws Pkcs12Error (wrong passphrase, unsupported, damaged). */
export function readPkcs12(data: Uint8Array, passphrase: Uint8Array | undefined): Pkcs12Contents {
  const password = passphrase === undefined ? '' : Buffer.from(passphrase).toString('utf8');
  let pfx: PFX;
  try {
    pfx = AsnConvert.parse(data, PFX);
  } catch (e) {
    throw new Pkcs12Error(`not a PKCS#12 file: ${(e as Error).message}`);
  }
  if (pfx.authSafe.contentType !== ID_DATA) throw new Pkcs12Error('public-key integrity mode is not supported');
  const safe = octets(pfx.authSafe.content);
  if (pfx.macData !== undefined) {
    const hash = HASH_BY_OID[pfx.macData.mac.digestAlgorithm.algorithm];
    if (hash === undefined) throw new Pkcs12Error('unsupported MAC hash');
    const want = Buffer.from(pfx.macData.mac.digest.buffer);
    const key = pkcs12MacKey(
      hash,
      password,
      Buffer.from(pfx.macData.macSalt.buffer),
      pfx.macData.iterations,
      want.length,
    );
    const got = createHmac(hash, key).update(safe).digest();
    if (got.length !== want.length || !timingSafeEqual(got, want))
      throw new Pkcs12Error('wrong passphrase (or a damaged file): the MAC does not verify');
  }
  const certs: X509Cert[] = [];
  let key: KeyObject | undefined;
  for (const ci of AsnConvert.parse(safe, AuthenticatedSafe)) {
    let contents: Buffer;
    if (ci.contentType === ID_DATA) contents = octets(ci.content);
    else if (ci.contentType === ID_ENCRYPTED_DATA) {
      const eci = AsnConvert.parse(toDer(seqItems(ci.content)[1]), EncryptedContentInfo);
      const enc = eci.encryptedContent;
      const bytes = enc?.value
        ? Buffer.from(enc.value.buffer)
        : Buffer.concat((enc?.constructedValue ?? []).map((o) => Buffer.from(o.buffer)));
      contents = pbes2Decrypt(eci.contentEncryptionAlgorithm, bytes, password);
    } else continue;
    for (const bag of AsnConvert.parse(contents, SafeContents)) {
      if (bag.bagId === id_certBag) {
        const cb = AsnConvert.parse(bag.bagValue, CertBag);
        certs.push(X509Cert.fromDer(octets(cb.certValue)));
      } else if (bag.bagId === id_pkcs8ShroudedKeyBag) {
        try {
          key = createPrivateKey({
            key: Buffer.from(bag.bagValue),
            format: 'der',
            type: 'pkcs8',
            passphrase: password,
          });
        } catch {
          throw new Pkcs12Error('wrong passphrase for the private key');
        }
      } else if (bag.bagId === id_keyBag) {
        key = createPrivateKey({ key: Buffer.from(bag.bagValue), format: 'der', type: 'pkcs8' });
      }
    }
  }
  return { key, certs };
}
