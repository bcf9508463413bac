/**
 * The crypto provider contract. Engines (ESP, AH, IKE) only see these interfaces, so a faster backend
 * (for example one OpenSSL EVP context per SA reached through FFI) can replace the node:crypto one.
 *
 * Every transform is bound to its key when created; per-packet calls take no key and allocate as little
 * as the backend allows. "In place" means the result ends up in the same bytes the input came from.
 */

/** An AEAD bound to one key: AES-GCM (RFC 4106), AES-CCM (RFC 4309), ChaCha20-Poly1305 (RFC 7634), GMAC (RFC 4543). */
export interface AeadTransform {
  readonly kind: 'aead';
  /** strongSwan-style name, e.g. 'aes128gcm16'. */
  readonly name: string;
  /** Bytes of explicit IV carried in each packet (8 for all IPsec AEADs). */
  readonly ivLength: number;
  /** Bytes of ICV (authentication tag) appended to each packet. */
  readonly icvLength: number;
  /** Alignment the ESP payload must be padded to (1 for counter-mode AEADs; ESP then pads to 4). */
  readonly blockSize: number;
  /**
   * True for ENCR_NULL_AUTH_AES_GMAC: nothing is encrypted, and the tag covers aad || iv || data
   * (RFC 4543 section 3.3). Otherwise the tag covers aad and the ciphertext of data.
   */
  readonly authOnly: boolean;
  /** Encrypt data[off, off + len) in place and write icvLength bytes of ICV at icvOut[icvOff]. */
  seal(
    iv: Uint8Array,
    aad: Uint8Array,
    data: Uint8Array,
    off: number,
    len: number,
    icvOut: Uint8Array,
    icvOff: number,
  ): void;
  /**
   * Verify the ICV at icv[icvOff] and decrypt data[off, off + len) in place. Returns false on an ICV
   * mismatch; data must then not be used (it may or may not have been modified). Never throws for bad input.
   */
  open(
    iv: Uint8Array,
    aad: Uint8Array,
    data: Uint8Array,
    off: number,
    len: number,
    icv: Uint8Array,
    icvOff: number,
  ): boolean;
  /**
   * Release backend resources (e.g. OpenSSL contexts) now rather than at garbage collection. Optional; the
   * transform must not be used afterwards.
   */
  dispose?(): void;
}

/** A non-AEAD cipher bound to one key: AES-CBC (RFC 3602), AES-CTR (RFC 3686), 3DES-CBC, NULL. */
export interface CipherTransform {
  readonly kind: 'cipher';
  readonly name: string;
  /** Bytes of explicit IV carried in each packet (16 for AES-CBC, 8 for AES-CTR and 3DES, 0 for NULL). */
  readonly ivLength: number;
  /** Cipher block size; ESP pads the payload to a multiple of max(blockSize, 4). 1 for CTR and NULL. */
  readonly blockSize: number;
  /** Encrypt data[off, off + len) in place (len a multiple of blockSize). */
  encrypt(iv: Uint8Array, data: Uint8Array, off: number, len: number): void;
  /** Decrypt data[off, off + len) in place (len a multiple of blockSize). */
  decrypt(iv: Uint8Array, data: Uint8Array, off: number, len: number): void;
  /** Release backend resources now rather than at garbage collection (optional; no use afterwards). */
  dispose?(): void;
}

/** An integrity algorithm bound to one key: HMAC-SHA1/SHA2 (RFC 2404, RFC 4868), AES-XCBC (RFC 3566), AES-CMAC (RFC 4494), AES-GMAC (RFC 4543, AH). */
export interface IntegrityTransform {
  readonly name: string;
  /** Bytes of truncated ICV. */
  readonly icvLength: number;
  /**
   * AES-GMAC for AH needs a per-packet IV: its length here (8), 0 otherwise. The caller passes it
   * through `iv` below.
   */
  readonly ivLength: number;
  /** MAC over the concatenation of chunks, truncated to icvLength, written at out[outOff]. */
  compute(chunks: readonly Uint8Array[], out: Uint8Array, outOff: number, iv?: Uint8Array): void;
  /** Constant-time comparison of the computed MAC against icv[icvOff, icvOff + icvLength). */
  verify(chunks: readonly Uint8Array[], icv: Uint8Array, icvOff: number, iv?: Uint8Array): boolean;
  /** Release backend resources now rather than at garbage collection (optional; no use afterwards). */
  dispose?(): void;
}

/** A pseudorandom function (RFC 7296 2.13): HMAC-SHA1/SHA2, AES128-XCBC (RFC 4434), AES128-CMAC (RFC 4615). */
export interface Prf {
  readonly name: string;
  /** Output length in bytes. */
  readonly outputLength: number;
  /** Preferred key length in bytes (RFC 7296 2.13: SK_d, SK_pi, SK_pr length). */
  readonly keyLength: number;
  /** prf(key, data). Key of any length (XCBC/CMAC apply their RFC key rules). */
  compute(key: Uint8Array, data: Uint8Array): Buffer;
}

/** One side of a key exchange (RFC 7296 1.2, 3.4). */
export interface KeyExchange {
  readonly group: number;
  /** The KE payload data for our public value, in IKEv2 encoding (RFC 5903 x || y for ECP, RFC 8031 for curves). */
  readonly publicKey: Buffer;
  /** The shared secret g^ir from the peer's KE payload data. Throws CryptoError on an invalid public value. */
  computeSharedSecret(peerPublic: Uint8Array): Buffer;
}

/** Randomness source; the sans-I/O core never reaches for a global one. */
export interface Rng {
  fill(out: Uint8Array): void;
  bytes(n: number): Buffer;
}

/** Raised for crypto misuse or invalid peer values (bad public key, wrong key length, unsupported algorithm). */
export class CryptoError extends Error {
  override readonly name = 'CryptoError';
}
