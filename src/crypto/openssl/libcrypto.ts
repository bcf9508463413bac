/**
 * OpenSSL EVP bindings through koffi, loaded on demand. The process's own OpenSSL (the one node:crypto is built
 * on, whose symbols Node exports) is preferred; otherwise the system libcrypto.so.3. Nothing here is loaded
 * until a caller asks, and every failure degrades to "not available".
 */
import { createRequire } from 'node:module';
import type * as KoffiModule from 'koffi';

/** Opaque pointer handles returned by koffi. */
export type EvpCipherCtx = { readonly __brand: 'EVP_CIPHER_CTX' };
export type EvpCipher = { readonly __brand: 'EVP_CIPHER' };
export type EvpMd = { readonly __brand: 'EVP_MD' };
export type HmacCtx = { readonly __brand: 'HMAC_CTX' };

/** The EVP functions the backend uses (OpenSSL 3 signatures). */
export interface LibCrypto {
  /** Where the functions came from: 'process' (Node's bundled OpenSSL) or a library path. */
  readonly source: string;
  readonly version: string;
  EVP_CIPHER_CTX_new(): EvpCipherCtx | null;
  EVP_CIPHER_CTX_free(ctx: EvpCipherCtx): void;
  EVP_CipherInit_ex(
    ctx: EvpCipherCtx,
    cipher: EvpCipher | null,
    engine: null,
    key: Uint8Array | null,
    iv: Uint8Array | null,
    enc: number,
  ): number;
  EVP_CipherUpdate(ctx: EvpCipherCtx, out: Uint8Array | null, outl: Int32Array, input: Uint8Array, inl: number): number;
  EVP_CipherFinal_ex(ctx: EvpCipherCtx, out: Uint8Array | null, outl: Int32Array): number;
  EVP_CIPHER_CTX_ctrl(ctx: EvpCipherCtx, type: number, arg: number, ptr: Uint8Array | null): number;
  EVP_CIPHER_CTX_set_padding(ctx: EvpCipherCtx, pad: number): number;
  /** Cipher by name ('aes-128-gcm', 'chacha20-poly1305', ...), or null. */
  cipher(name: string): EvpCipher | null;
  /** Digest by node:crypto name ('sha1', 'sha256', ...), or null. */
  digest(name: string): EvpMd | null;
  HMAC_CTX_new(): HmacCtx | null;
  HMAC_CTX_free(ctx: HmacCtx): void;
  /** With key and md null, restarts with the key and digest set before (OpenSSL HMAC_Init_ex). */
  HMAC_Init_ex(ctx: HmacCtx, key: Uint8Array | null, len: number, md: EvpMd | null, engine: null): number;
  HMAC_Update(ctx: HmacCtx, data: Uint8Array, len: number): number;
  HMAC_Final(ctx: HmacCtx, md: Uint8Array, len: Uint32Array): number;
}

/** EVP_CIPHER_CTX_ctrl commands (openssl/evp.h): EVP_CTRL_AEAD_GET_TAG, EVP_CTRL_AEAD_SET_TAG. */
export const EVP_CTRL_AEAD_GET_TAG = 0x10;
export const EVP_CTRL_AEAD_SET_TAG = 0x11;

/** Library names tried after the process itself. */
const LIBRARY_CANDIDATES = ['libcrypto.so.3', '/usr/lib/x86_64-linux-gnu/libcrypto.so.3'];

const CIPHER_GETTERS: Readonly<Record<string, string>> = {
  'aes-128-gcm': 'EVP_aes_128_gcm',
  'aes-192-gcm': 'EVP_aes_192_gcm',
  'aes-256-gcm': 'EVP_aes_256_gcm',
  'chacha20-poly1305': 'EVP_chacha20_poly1305',
  'aes-128-cbc': 'EVP_aes_128_cbc',
  'aes-192-cbc': 'EVP_aes_192_cbc',
  'aes-256-cbc': 'EVP_aes_256_cbc',
  'aes-128-ctr': 'EVP_aes_128_ctr',
  'aes-192-ctr': 'EVP_aes_192_ctr',
  'aes-256-ctr': 'EVP_aes_256_ctr',
  'des-ede3-cbc': 'EVP_des_ede3_cbc',
};

const DIGEST_GETTERS: Readonly<Record<string, string>> = {
  md5: 'EVP_md5',
  sha1: 'EVP_sha1',
  sha256: 'EVP_sha256',
  sha384: 'EVP_sha384',
  sha512: 'EVP_sha512',
};

/** OPENSSL_VERSION_NUMBER of the major version these bindings target. */
const OPENSSL_3 = 3;

/** koffi type names are process-wide: declare the opaque OpenSSL types once. */
let typesDeclared = false;

function declareTypes(koffi: typeof KoffiModule): void {
  if (typesDeclared) return;
  for (const name of ['EVP_CIPHER_CTX', 'EVP_CIPHER', 'EVP_MD', 'HMAC_CTX']) koffi.opaque(name);
  typesDeclared = true;
}

function bind(koffi: typeof KoffiModule, lib: KoffiModule.LibraryHandle, source: string): LibCrypto {
  declareTypes(koffi);
  const versionMajor = lib.func('unsigned int OPENSSL_version_major()') as () => number;
  if (versionMajor() !== OPENSSL_3) throw new Error(`OpenSSL major version ${versionMajor()} is not supported`);
  const version = (lib.func('const char *OpenSSL_version(int t)') as (t: number) => string)(0);
  const getters = new Map<string, EvpCipher | null>();
  const f = {
    EVP_CIPHER_CTX_new: lib.func('EVP_CIPHER_CTX *EVP_CIPHER_CTX_new()'),
    EVP_CIPHER_CTX_free: lib.func('void EVP_CIPHER_CTX_free(EVP_CIPHER_CTX *ctx)'),
    EVP_CipherInit_ex: lib.func(
      'int EVP_CipherInit_ex(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *type, void *impl, const uint8_t *key, const uint8_t *iv, int enc)',
    ),
    EVP_CipherUpdate: lib.func(
      'int EVP_CipherUpdate(EVP_CIPHER_CTX *ctx, uint8_t *out, int *outl, const uint8_t *in, int inl)',
    ),
    EVP_CipherFinal_ex: lib.func('int EVP_CipherFinal_ex(EVP_CIPHER_CTX *ctx, uint8_t *out, int *outl)'),
    EVP_CIPHER_CTX_ctrl: lib.func('int EVP_CIPHER_CTX_ctrl(EVP_CIPHER_CTX *ctx, int type, int arg, void *ptr)'),
    EVP_CIPHER_CTX_set_padding: lib.func('int EVP_CIPHER_CTX_set_padding(EVP_CIPHER_CTX *ctx, int pad)'),
    HMAC_CTX_new: lib.func('HMAC_CTX *HMAC_CTX_new()'),
    HMAC_CTX_free: lib.func('void HMAC_CTX_free(HMAC_CTX *ctx)'),
    HMAC_Init_ex: lib.func(
      'int HMAC_Init_ex(HMAC_CTX *ctx, const uint8_t *key, int len, const EVP_MD *md, void *impl)',
    ),
    HMAC_Update: lib.func('int HMAC_Update(HMAC_CTX *ctx, const uint8_t *data, size_t len)'),
    HMAC_Final: lib.func('int HMAC_Final(HMAC_CTX *ctx, uint8_t *md, unsigned int *len)'),
  };
  const lookup = <T>(
    cache: Map<string, T | null>,
    table: Readonly<Record<string, string>>,
    type: string,
    name: string,
  ): T | null => {
    if (!cache.has(name)) {
      const symbol = table[name];
      let v: T | null = null;
      if (symbol !== undefined) {
        try {
          v = (lib.func(`const ${type} *${symbol}()`) as () => T | null)();
        } catch {
          v = null;
        }
      }
      cache.set(name, v);
    }
    return cache.get(name) ?? null;
  };
  const digests = new Map<string, EvpMd | null>();
  return {
    source,
    version,
    ...(f as unknown as Omit<LibCrypto, 'source' | 'version' | 'cipher' | 'digest'>),
    cipher: (name: string): EvpCipher | null => lookup(getters, CIPHER_GETTERS, 'EVP_CIPHER', name),
    digest: (name: string): EvpMd | null => lookup(digests, DIGEST_GETTERS, 'EVP_MD', name),
  };
}

let loaded: LibCrypto | null | undefined;
let loadError = '';

/**
 * The bindings, loading them on first use: koffi, then the process's own OpenSSL 3, then libcrypto.so.3.
 * Returns null (see libCryptoLoadError()) when none can be used.
 */
export function loadLibCrypto(libraryPath?: string): LibCrypto | null {
  if (loaded !== undefined && libraryPath === undefined) return loaded;
  let koffi: typeof KoffiModule;
  try {
    koffi = createRequire(import.meta.url)('koffi') as typeof KoffiModule;
  } catch (e) {
    loadError = `koffi not available: ${String(e)}`;
    loaded = null;
    return null;
  }
  const candidates: (string | null)[] = libraryPath !== undefined ? [libraryPath] : [null, ...LIBRARY_CANDIDATES];
  const errors: string[] = [];
  for (const path of candidates) {
    try {
      const lib = koffi.load(path);
      const bound = bind(koffi, lib, path ?? 'process');
      if (libraryPath === undefined) loaded = bound;
      return bound;
    } catch (e) {
      errors.push(`${path ?? 'process'}: ${String(e)}`);
    }
  }
  loadError = errors.join('; ');
  if (libraryPath === undefined) loaded = null;
  return null;
}

/** Why loadLibCrypto() returned null, for logs. */
export function libCryptoLoadError(): string {
  return loadError;
}
