/**
 * Error messages: the argument, its word and column on the line, file:line for files, and a fix. Expected
 * columns are found with a plain string search in the line, independently of the tokenizer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadXfrmFile, parseXfrmLine, parseXfrmText } from '../../src/xfrm/index.js';
import { KEY16, KEY20, xfrmError } from './helpers.js';

/** 1-based column of `needle` in `line` (plain string search). */
function col(line: string, needle: string): number {
  const at = line.indexOf(needle);
  assert.ok(at >= 0, `${needle} not in ${line}`);
  return at + 1;
}

const AUTH_NAMES =
  "'hmac(md5)', 'hmac(sha1)', 'hmac(sha256)', 'hmac(sha384)', 'hmac(sha512)', 'xcbc(aes)', 'cmac(aes)'";

test('unknown algorithm: exact message with word, column and the known names', () => {
  const line = `state add src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x1000 enc aes ${KEY16} auth-trunc 'hmac(md4)' ${KEY16} 96`;
  const e = xfrmError(() => parseXfrmLine(line));
  assert.equal(
    e.message,
    `argument 'auth-trunc' (word 14, column ${col(line, 'auth-trunc')}): unknown algorithm 'hmac(md4)'; use one of ${AUTH_NAMES}`,
  );
  assert.deepEqual(
    [e.argument, e.problem, e.position?.word, e.line, e.file],
    ['auth-trunc', "unknown algorithm 'hmac(md4)'", 14, undefined, undefined],
  );
});

test('positions count in the line as written, including leading blanks, ip xfrm and quotes', () => {
  const l1 = '  ip  xfrm state add src 192.0.2.1 dst 198.51.100.2 proto esp spi zz';
  assert.equal(
    xfrmError(() => parseXfrmLine(l1)).message,
    `argument 'spi' (word 12, column ${col(l1, 'zz')}): 'zz' is not a number in 0..4294967295; write it in decimal or as 0x-hex (a leading 0 means octal, as in iproute2)`,
  );
  const l2 = `state add src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x1000 "aead" 'rfc4106(gcm(aes))' 0x01 128`;
  assert.equal(
    xfrmError(() => parseXfrmLine(l2)).message,
    `argument 'aead' (word 11, column ${col(l2, '"aead"')}): key is 1 bytes; 'rfc4106(gcm(aes))' takes 20, 28 or 36 bytes (key + 4-byte salt, RFC 4106); write the key as 0x followed by 40, 56 or 72 hex digits`,
  );
});

test('missing and repeated arguments', () => {
  const line = 'state add src 192.0.2.1 dst 198.51.100.2 proto esp';
  assert.equal(
    xfrmError(() => parseXfrmLine(line)).message,
    `argument 'spi' (word 9, column ${line.length + 1}): missing; state add needs spi SPI`,
  );
  assert.equal(
    xfrmError(() => parseXfrmLine('state add src')).message,
    `argument 'src' (word 3, column 11): missing ADDR; write src ADDR`,
  );
  const d = 'state add src 192.0.2.1 src 192.0.2.2';
  assert.equal(
    xfrmError(() => parseXfrmLine(d)).message,
    `argument 'src' (word 5, column ${col(d, 'src 192.0.2.2')}): given twice; give it once`,
  );
});

test('value errors name the value: addresses, reserved SPIs, key digits, ICV lengths, truncations', () => {
  const base = 'state add src 192.0.2.1 dst 198.51.100.2 proto esp spi';
  assert.equal(
    xfrmError(() => parseXfrmLine('state add src 192.0.2.300')).message,
    `argument 'src' (word 4, column 15): '192.0.2.300' is not an IPv4 or IPv6 address; write e.g. 192.0.2.1 or 2001:db8::1`,
  );
  const l1 = `${base} 0`;
  assert.equal(
    xfrmError(() => parseXfrmLine(l1)).message,
    `argument 'spi' (word 10, column ${l1.length}): SPI 0 must not be sent on the wire (RFC 4303 2.1); use 256 (0x100) or more`,
  );
  const l2 = `${base} 0x100 enc aes 0x00zz`;
  assert.equal(
    xfrmError(() => parseXfrmLine(l2)).message,
    `argument 'enc' (word 13, column ${col(l2, '0x00zz')}): key '0x00zz' has characters that are not hex digits; write the key as 0x followed by hex digits`,
  );
  const l3 = `${base} 0x100 aead 'rfc4106(gcm(aes))' ${KEY20} 32`;
  assert.equal(
    xfrmError(() => parseXfrmLine(l3)).message,
    `argument 'aead' (word 11, column ${col(l3, 'aead')}): ICV length 32 bits is not defined for 'rfc4106(gcm(aes))'; use 64, 96, 128`,
  );
  const l4 = `${base} 0x100 enc aes ${KEY16} auth sha256 0x${'00'.repeat(32)}`;
  assert.equal(
    xfrmError(() => parseXfrmLine(l4)).message,
    `argument 'auth' (word 14, column ${col(l4, 'auth')}): Linux truncates 'hmac(sha256)' to 96 bits by default, which no IANA transform uses; write auth-trunc 'hmac(sha256)' KEY 128 (RFC 4868)`,
  );
  const l5 = `${base} 0x100 enc aes ${KEY16} auth-trunc sha1 ${KEY20} 128`;
  assert.equal(
    xfrmError(() => parseXfrmLine(l5)).message,
    `argument 'auth-trunc' (word 14, column ${col(l5, 'auth-trunc')}): 'hmac(sha1)' truncated to 128 bits is not supported; write auth-trunc 'hmac(sha1)' KEY 96 (RFC 2404)`,
  );
});

test('combination errors: AH with encryption, AEAD with auth, ESP without encryption, NULL without auth', () => {
  const esp = 'state add src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x100';
  const ah = 'state add src 192.0.2.1 dst 198.51.100.2 proto ah spi 0x100';
  const starts = (line: string, prefix: string): void => {
    const m = xfrmError(() => parseXfrmLine(line)).message;
    assert.ok(m.startsWith(prefix), `${m}\n  does not start with\n${prefix}`);
  };
  starts(
    `${ah} enc aes ${KEY16}`,
    `argument 'enc' (word 11, column ${ah.length + 2}): AH has no encryption (RFC 4302)`,
  );
  starts(ah, `argument 'proto' (word 7, column ${col(ah, 'proto')}): AH needs an auth or auth-trunc algorithm`);
  starts(`${esp} auth sha1 ${KEY20}`, `argument 'proto' (word 7, column ${col(esp, 'proto')}): ESP needs enc or aead`);
  const both = `${esp} aead 'rfc4106(gcm(aes))' ${KEY20} 128 auth sha1 ${KEY20}`;
  starts(both, `argument 'auth' (word 15, column ${col(both, 'auth')}): an AEAD takes no separate auth algorithm`);
  starts(
    `${esp} enc cipher_null ""`,
    `argument 'enc' (word 11, column ${esp.length + 2}): NULL encryption needs an auth algorithm`,
  );
  const nul = `${esp} enc cipher_null 0x00 auth sha1 ${KEY20}`;
  starts(
    nul,
    `argument 'enc' (word 11, column ${esp.length + 2}): key is 1 bytes; 'ecb(cipher_null)' takes 0 bytes (RFC 2410); write enc ecb(cipher_null) ""`,
  );
  starts(`${esp} enc aes ${KEY16} enc aes ${KEY16}`, `argument 'enc' (word 14,`);
  starts(
    `${esp} enc 'rfc4106(gcm(aes))' ${KEY20}`,
    `argument 'enc' (word 11, column ${esp.length + 2}): 'rfc4106(gcm(aes))' is an AEAD; write aead`,
  );
});

test('files: file:line prefix, comments, blank lines, CRLF, optional ip xfrm / xfrm words', () => {
  const last = `state add src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x1000 enc 'cbc(aes)' ${KEY16} auth-trunc 'hmac(md4)' 0x00 96`;
  const lines = [
    '# manual keys for the lab',
    '',
    `ip xfrm state add src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x1000 aead 'rfc4106(gcm(aes))' ${KEY20} 128 # outbound`,
    `xfrm policy add src 203.0.113.0/24 dst 198.51.100.0/24 dir out tmpl proto esp reqid 1`,
    '   state flush   ',
    '\t# indented comment',
    last,
  ];
  const e = xfrmError(() => parseXfrmText(lines.join('\n'), 'lab.xfrm'));
  assert.equal(
    e.message,
    `lab.xfrm:7: argument 'auth-trunc' (word 14, column ${col(last, 'auth-trunc')}): unknown algorithm 'hmac(md4)'; use one of ${AUTH_NAMES}`,
  );
  assert.deepEqual([e.file, e.line], ['lab.xfrm', 7]);
  const ok = parseXfrmText(lines.slice(0, 6).join('\r\n'), 'lab.xfrm');
  assert.deepEqual(
    ok.map((c) => [c.line, c.command.object, c.command.verb]),
    [
      [3, 'state', 'add'],
      [4, 'policy', 'add'],
      [5, 'state', 'flush'],
    ],
  );
  assert.equal(ok[2]!.text, 'state flush');
  const bad = "state add src 192.0.2.1 'oops";
  assert.equal(
    xfrmError(() => parseXfrmText(`state list\n${bad}\n`, 'q.xfrm')).message,
    `q.xfrm:2: line (word 5, column ${col(bad, "'")}): unterminated ' quote; close the quote with '`,
  );
});

test('loadXfrmFile reads a file; a missing file is an XfrmError naming it', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ts-ipsec-xfrm-'));
  try {
    const f = path.join(dir, 'keys.xfrm');
    writeFileSync(f, 'state flush\npolicy flush\n');
    assert.deepEqual(
      loadXfrmFile(f).map((c) => c.command),
      [
        { object: 'state', verb: 'flush' },
        { object: 'policy', verb: 'flush' },
      ],
    );
    const e = xfrmError(() => loadXfrmFile(path.join(dir, 'missing.xfrm')));
    assert.match(e.message, /missing\.xfrm:0: line: cannot read the file: ENOENT.*; check the path given to --xfrm$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
