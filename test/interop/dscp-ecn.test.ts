/**
 * DSCP and ECN through a project-to-project tunnel on real sockets (RFC 4301 5.1.2.1, RFC 6040): tcpdump on the
 * wire shows each ESP packet's outer TOS equal to the inner one the ping set; then nftables in the right
 * namespace marks every arriving ESP packet CE (a congested router): ECN-capable pings still pass, Not-ECT
 * ones are dropped by the receiving daemon and counted as 'ecn'.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Lab, waitFor } from '../helpers/lab.js';
import { labSkip } from '../helpers/prerequisites.js';
import { TsipsecPeer } from '../helpers/tsipsec.js';
import { pskConfig } from '../helpers/swanctl.js';
import type { IkeSaInfo } from '../../src/control/schema.js';

const EF_ECT0 = 0xba; // DSCP EF (46), ECN ECT(0)
const AF11_NOT_ECT = 0x28; // DSCP AF11 (10), Not-ECT

test(
  'tunnel mode: the outer TOS of each ESP packet is the inner one; a CE mark reaches ECN-capable traffic and drops Not-ECT',
  { skip: labSkip('tcpdump', 'nft'), timeout: 60_000 },
  async () => {
    const lab = await Lab.create('ecn');
    let a: TsipsecPeer | undefined;
    let b: TsipsecPeer | undefined;
    try {
      const { left, right } = lab;
      const settings = { proposals: 'aes128gcm16-prfsha256-x25519' };
      b = await TsipsecPeer.start(lab, right, pskConfig({ me: right, peer: left, settings }));
      a = await TsipsecPeer.start(lab, left, pskConfig({ me: left, peer: right, settings }));
      await a.call('up', { name: 'net', timeoutSec: 20 });
      const ping = (tos: number, count: number) =>
        lab
          .exec(left, 'ping', [
            '-c',
            String(count),
            '-i',
            '0.2',
            '-W',
            '1',
            '-Q',
            String(tos),
            '-I',
            left.inner4,
            right.inner4,
          ])
          .catch((e: Error) => e.message);

      // 1. The wire: tcpdump -v prints the outer header's tos of each ESP packet.
      const capture = `${lab.dir}/esp.txt`;
      const out = fs.openSync(capture, 'w');
      lab.spawn(right, 'tcpdump', ['-i', right.dev, '-n', '-v', '-l', 'esp and src host', left.outer4], {
        stdio: ['ignore', out, 'ignore'],
      });
      fs.closeSync(out);
      await new Promise((r) => setTimeout(r, 1000));
      assert.match(await ping(EF_ECT0, 2), /2 received/);
      assert.match(await ping(AF11_NOT_ECT, 2), /2 received/);
      await waitFor(
        'tcpdump to print 4 ESP packets',
        () => (fs.readFileSync(capture, 'utf8').match(/ESP\(/g) ?? []).length >= 4,
        5000,
      );
      const toses = [...fs.readFileSync(capture, 'utf8').matchAll(/\(tos (0x[0-9a-f]+)/g)].map((m) => Number(m[1]));
      assert.deepEqual(
        toses.slice(0, 4),
        [EF_ECT0, EF_ECT0, AF11_NOT_ECT, AF11_NOT_ECT],
        fs.readFileSync(capture, 'utf8'),
      );

      // 2. Congestion on the way: every ESP packet reaching the right host is marked CE.
      const rules = `${lab.dir}/ce.nft`;
      fs.writeFileSync(
        rules,
        'table inet tsice {\n  chain in {\n    type filter hook input priority -200; policy accept;\n    meta l4proto esp ip ecn set ce\n  }\n}\n',
      );
      await lab.exec(right, 'nft', ['-f', rules]);
      assert.match(await ping(EF_ECT0, 3), /3 received/, 'ECN-capable traffic carries the mark and passes');
      assert.match(await ping(AF11_NOT_ECT, 2), /0 received/, 'Not-ECT traffic under a CE mark is dropped');
      const sas = ((await b.call('sas')) as { ikeSas: IkeSaInfo[] }).ikeSas;
      assert.equal(sas[0]?.children[0]?.drops['ecn'], 2, JSON.stringify(sas[0]?.children[0]?.drops));
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n--- left log ---\n${a?.log().slice(-3000)}\n--- right log ---\n${b?.log().slice(-3000)}`,
      );
    } finally {
      await lab.destroy();
    }
  },
);
