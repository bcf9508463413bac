/**
 * The test references themselves must be right: the hand-written AES-XCBC-MAC reproduces every RFC 3566
 * case, and the checksum reproduces a known IPv4 header checksum.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hex, loadVectors } from '../helpers/vectors.js';
import { ipv4Checksum, xcbcMac } from './reference.js';

interface XcbcFile {
  mac_cases: { description: string; key: string; message: string; aes_xcbc_mac_128: string; aes_xcbc_mac_96: string }[];
}

test('reference AES-XCBC-MAC reproduces the RFC 3566 test cases', () => {
  const v = loadVectors<XcbcFile>('rfc3566-rfc4434-aes-xcbc.json');
  assert.equal(v.mac_cases.length, 7);
  for (const c of v.mac_cases) {
    const mac = xcbcMac(hex(c.key), hex(c.message));
    assert.equal(mac.toString('hex'), c.aes_xcbc_mac_128, c.description);
    assert.equal(mac.subarray(0, 12).toString('hex'), c.aes_xcbc_mac_96, c.description);
  }
});

test('reference IPv4 checksum reproduces a known header checksum', () => {
  // 45 00 00 73 00 00 40 00 40 11 [b8 61] c0 a8 00 01 c0 a8 00 c7: the well-known RFC 1071 style example.
  const h = hex('450000730000400040110000c0a80001c0a800c7');
  assert.equal(ipv4Checksum(h), 0xb861);
});
