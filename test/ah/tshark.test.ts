/**
 * Wireshark's dissector as an outside reader: AH packets sealed here are written to a pcap (LINKTYPE_RAW)
 * and tshark must dissect each as AH with our SPI, sequence number, next header and length, and find the
 * inner/upper protocol behind it. Skipped, saying so, when tshark is not installed.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HOP4A, HOP4B, HOP6A, HOP6B, REF_ALGOS, ipv6OptionsHeader, pattern, udpDatagram } from './reference.js';
import { ipv4Udp, ipv6Udp } from './packets.js';
import { saPair, sealOk } from './sa-helpers.js';
import { toolSkip } from '../helpers/prerequisites.js';
import { tsharkFieldArgs, tsharkOnPackets } from '../helpers/tshark.js';

test(
  'tshark dissects sealed packets as AH with our SPI, sequence and next header',
  { skip: toolSkip('tshark') },
  () => {
    const sha256 = REF_ALGOS.find((a) => a.name === 'hmac-sha256-128')!;
    const gmac = REF_ALGOS.find((a) => a.name === 'aes256-gmac')!;
    const payload = udpDatagram(pattern(32, 1), 5000, 6000);
    const inner4 = ipv4Udp(payload, { id: 3 });
    const hbh = ipv6OptionsHeader(17, [{ type: 0x3e, data: pattern(4, 2) }]);
    const inner6 = ipv6Udp(payload, { extensions: hbh });
    const expected: { spi: number; seq: number; nh: number; len: number; inner: string }[] = [];
    const packets: Buffer[] = [];
    const add = (p: Buffer, spi: number, seq: number, nh: number, len: number, inner: string): void => {
      packets.push(p);
      expected.push({ spi, seq, nh, len, inner });
    };
    {
      const { out } = saPair(sha256, { mode: 'transport', esn: false, spi: 0x1001, initialSeq: 7 });
      add(sealOk(out, inner4), 0x1001, 7, 17, 5, 'udp');
      add(sealOk(out, inner4), 0x1001, 8, 17, 5, 'udp');
    }
    {
      const { out } = saPair(gmac, {
        mode: 'tunnel',
        esn: true,
        spi: 0x2002,
        initialSeq: 0x1_0000_0005,
        tunnel: { src: HOP4A, dst: HOP4B },
      });
      add(sealOk(out, inner6), 0x2002, 5, 41, 7, 'udp');
    }
    {
      const { out } = saPair(sha256, { mode: 'transport', esn: false, spi: 0x3003, initialSeq: 1 });
      add(sealOk(out, inner6), 0x3003, 1, 17, 6, 'udp');
    }
    {
      const { out } = saPair(gmac, {
        mode: 'tunnel',
        esn: false,
        spi: 0x4004,
        initialSeq: 99,
        tunnel: { src: HOP6A, dst: HOP6B },
      });
      add(sealOk(out, inner4), 0x4004, 99, 4, 8, 'udp');
    }
    const text = tsharkOnPackets(
      packets,
      tsharkFieldArgs(['ah.spi', 'ah.sequence', 'ah.next_header', 'ah.length', 'udp.srcport', 'frame.protocols']),
      'ts-ipsec-ah-',
      'ah.pcap',
    );
    const lines = text.trim().split('\n');
    assert.equal(lines.length, expected.length, text);
    lines.forEach((line, i) => {
      const e = expected[i]!;
      const [spi, seq, nh, len, sport, protocols] = line.split('|');
      assert.equal(Number(spi), e.spi, line);
      assert.equal(Number(seq), e.seq, line);
      assert.equal(Number(nh), e.nh, line);
      assert.equal(Number(len), e.len, line);
      assert.equal(sport, '5000', line);
      assert.match(protocols ?? '', /:ah:/, line);
      assert.match(protocols ?? '', new RegExp(`:${e.inner}`), line);
    });
  },
);
