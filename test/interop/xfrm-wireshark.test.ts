/**
 * Manual keying and key export, checked by others:
 * - two daemons keyed only with `ip xfrm` lines (one from `--xfrm FILE`, one through `tsipsec xfrm`), ESP and
 *   AH, tunnel and transport, raw and in UDP, ESN: a ping goes through each;
 * - tshark, given a capture of a whole project-to-project IKE session and the tables `--save-keys` wrote,
 *   decrypts every IKE and ESP packet with correct ICVs and nothing malformed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Lab, waitFor } from '../helpers/lab.js';
import { labSkip } from '../helpers/prerequisites.js';
import type { LabHost } from '../helpers/lab.js';
import { TsipsecPeer } from '../helpers/tsipsec.js';
import { pskConfig } from '../helpers/swanctl.js';
import { run } from '../../src/cli/run.js';

const skip = labSkip();

const NO_CONNECTIONS = '# keys come from ip xfrm lines only\n';
const hex = (n: number, seed: number) => '0x' + Buffer.alloc(n, seed).toString('hex');

interface Manual {
  name: string;
  proto: 'esp' | 'ah';
  mode: 'tunnel' | 'transport';
  algo: (dir: 1 | 2) => string;
  flags?: string;
  encap?: boolean;
}

const MANUAL: Manual[] = [
  {
    name: 'ESP tunnel, AES-GCM-128',
    proto: 'esp',
    mode: 'tunnel',
    algo: (d) => `aead 'rfc4106(gcm(aes))' ${hex(20, d)} 128`,
  },
  {
    name: 'ESP transport, AES-CBC + HMAC-SHA256, ESN',
    proto: 'esp',
    mode: 'transport',
    algo: (d) => `enc 'cbc(aes)' ${hex(16, d)} auth-trunc 'hmac(sha256)' ${hex(32, d + 10)} 128`,
    flags: 'replay-window 128 flag esn',
  },
  {
    name: 'AH tunnel, HMAC-SHA384',
    proto: 'ah',
    mode: 'tunnel',
    algo: (d) => `auth-trunc 'hmac(sha384)' ${hex(48, d)} 192`,
  },
  {
    name: 'ESP tunnel in UDP 4500, ChaCha20-Poly1305',
    proto: 'esp',
    mode: 'tunnel',
    algo: (d) => `aead 'rfc7539esp(chacha20,poly1305)' ${hex(36, d)} 128`,
    encap: true,
  },
];

/** The lines for one host: two SAs (out, in) and an out policy. */
function lines(m: Manual, me: LabHost, peer: LabHost, meIsLeft: boolean): string[] {
  const inner = (h: LabHost) => (m.mode === 'tunnel' ? h.inner4 : h.outer4);
  const spi = (fromLeft: boolean) => (fromLeft ? '0x1001' : '0x2002');
  const key = (fromLeft: boolean): 1 | 2 => (fromLeft ? 1 : 2);
  const encap = m.encap ? ' encap espinudp 4500 4500 0.0.0.0' : '';
  const sa = (src: LabHost, dst: LabHost, fromLeft: boolean) =>
    `state add src ${src.outer4} dst ${dst.outer4} proto ${m.proto} spi ${spi(fromLeft)} reqid 7 mode ${m.mode} ` +
    `${m.flags ?? ''} ${m.algo(key(fromLeft))}${encap} sel src ${inner(src)}/32 dst ${inner(dst)}/32`;
  return [
    sa(me, peer, meIsLeft),
    sa(peer, me, !meIsLeft),
    `policy add src ${inner(me)}/32 dst ${inner(peer)}/32 dir out tmpl src ${me.outer4} dst ${peer.outer4} proto ${m.proto} reqid 7 mode ${m.mode}`,
  ];
}

for (const m of MANUAL) {
  test(`manual keying with ip xfrm lines: ${m.name}`, { skip, timeout: 60_000 }, async () => {
    const lab = await Lab.create('xfrm');
    try {
      const { left, right } = lab;
      const file = path.join(lab.dir, 'left.xfrm');
      fs.writeFileSync(
        file,
        ['# ip xfrm lines for the left host', ...lines(m, left, right, true).map((l) => `ip xfrm ${l}`)].join('\n') +
          '\n',
      );
      await TsipsecPeer.start(lab, left, NO_CONNECTIONS, 2, ['--xfrm', file]);
      const b = await TsipsecPeer.start(lab, right, NO_CONNECTIONS);
      for (const l of lines(m, right, left, false)) {
        let err = '';
        const code = await run(['--control', b.control, 'xfrm', ...splitWords(l)], {
          stdout: { write: () => true },
          stderr: { write: (s: string) => (err += s) },
        });
        assert.equal(code, 0, `tsipsec xfrm ${l}: ${err}`);
      }
      const dst = m.mode === 'tunnel' ? right.inner4 : right.outer4;
      const src = m.mode === 'tunnel' ? left.inner4 : left.outer4;
      const ping = await lab.exec(left, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '-I', src, dst]);
      assert.match(ping, /3 received/, ping);
      let listed = '';
      assert.equal(
        await run(['--control', b.control, 'xfrm', 'state', 'list'], {
          stdout: { write: (s: string) => (listed += s) },
          stderr: { write: () => true },
        }),
        0,
      );
      assert.match(
        listed,
        new RegExp(
          `src ${left.outer4} dst ${right.outer4}\\n\\s+proto ${m.proto} spi 0x00001001 reqid 7 mode ${m.mode}`,
        ),
      );
    } finally {
      await lab.destroy();
    }
  });
}

/** Splits a line into argv words the way a shell would for these simple quoted lines. */
function splitWords(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|(\S+)/g)].map((x) => x[1] ?? x[2] ?? '');
}

test(
  'tshark decrypts a whole project-to-project session with the tables --save-keys wrote',
  { skip: labSkip('tshark'), timeout: 90_000 },
  async () => {
    const lab = await Lab.create('keys');
    try {
      const { left, right } = lab;
      const conf = (me: LabHost, peer: LabHost) =>
        pskConfig({
          me,
          peer,
          name: 'k',
          secret: 'wireshark-psk-0123456789',
          settings: { proposals: 'aes128-sha256-x25519' },
          children: [{ settings: { esp_proposals: 'aes128gcm16, aes256-sha256' } }],
        });
      const keys = path.join(lab.dir, 'keys');
      await TsipsecPeer.start(lab, right, conf(right, left));
      const a = await TsipsecPeer.start(lab, left, conf(left, right), 2, ['--save-keys', keys]);
      assert.match(a.log(), /WARNING: .*decrypt/i, 'a loud warning at start');
      const pcap = path.join(lab.dir, 'session.pcap');
      const dump = lab.spawn(left, 'tcpdump', ['-i', left.dev, '-nn', '-U', '-w', pcap, 'udp or esp'], {
        stdio: 'ignore',
      });
      await waitFor('tcpdump', () => fs.existsSync(pcap));
      await new Promise((r) => setTimeout(r, 300));
      await a.call('up', { name: 'net', timeoutSec: 20 });
      await lab.exec(left, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '-I', left.inner4, right.inner4]);
      await a.call('down', { name: 'k' });
      // tcpdump drops what it has not read yet when interrupted: wait until the file holds the whole session
      // (6 ESP packets; IKE_SA_INIT, IKE_AUTH and the INFORMATIONAL DELETE both ways), not for a fixed time.
      const captured = (filter: string): number =>
        (spawnSync('tcpdump', ['-nn', '-r', pcap, filter], { encoding: 'utf8' }).stdout ?? '')
          .split('\n')
          .filter(Boolean).length;
      await waitFor('the capture of the whole session', () => captured('esp') >= 6 && captured('udp port 500') >= 6);
      dump.kill('SIGINT');
      await new Promise((r) => dump.once('exit', r));
      assert.equal(fs.statSync(path.join(keys, 'esp_sa')).mode & 0o777, 0o600);
      assert.equal(fs.statSync(path.join(keys, 'ikev2_decryption_table')).mode & 0o777, 0o600);

      const r = spawnSync(
        'tshark',
        [
          '-n',
          '-r',
          pcap,
          '-o',
          'esp.enable_encryption_decode:TRUE',
          '-o',
          'esp.enable_authentication_check:TRUE',
          '-T',
          'pdml',
        ],
        { encoding: 'utf8', timeout: 60_000, env: { ...process.env, WIRESHARK_CONFIG_DIR: keys } },
      );
      const err = (r.stderr ?? '')
        .split('\n')
        .filter((l) => l.trim() !== '' && !l.startsWith('Running as user'))
        .join('\n');
      assert.equal(err, '', `tshark complained: ${err}`);
      const packets = (r.stdout ?? '').split('<packet>').slice(1);
      let esp = 0;
      let encryptedIke = 0;
      for (const [i, p] of packets.entries()) {
        assert.doesNotMatch(p, /malformed/i, `packet ${i + 1} malformed`);
        if (/<proto name="esp"/.test(p)) {
          esp++;
          assert.match(p, /name="esp\.icv_good"[^>]*show="(1|True)"/, `packet ${i + 1}: ESP ICV good`);
          assert.match(p, /<proto name="icmp"/, `packet ${i + 1}: the inner ICMP is visible`);
        } else if (/name="isakmp\.enc\.icd"/.test(p)) {
          encryptedIke++;
          assert.match(p, /name="isakmp\.enc\.icd" showname="[^"]*\[correct\]"/, `packet ${i + 1}: IKE ICV correct`);
        }
      }
      assert.equal(esp, 6, 'three echo requests and three replies');
      assert.ok(encryptedIke >= 4, `IKE_AUTH and INFORMATIONAL both ways decrypted (${encryptedIke})`);
    } finally {
      await lab.destroy();
    }
  },
);
