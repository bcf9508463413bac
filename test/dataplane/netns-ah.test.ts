/**
 * Two UserspaceDataplane instances in two network namespaces over a veth link, each with a real LinuxTun
 * and raw AH sockets (the IPv4 one header-included): the system `ping` goes through an AH tunnel between
 * them and is answered by the other namespace's kernel. Root only.
 *
 *   ns A: inner 198.51.100.1 (tun) -- outer 192.0.2.1 (veth) ==== AH ==== 192.0.2.2 -- 203.0.113.1 (tun): ns B
 *   IPv6: inner 2001:db8:a::1 -- outer 2001:db8::1 ==== AH ==== 2001:db8::2 -- 2001:db8:b::1
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestRng } from '../../src/crypto/rng.js';
import { IntegId } from '../../src/crypto/ids.js';
import { UserspaceDataplane } from '../../src/dataplane/userspace-dataplane.js';
import { IpProto } from '../../src/common/ip.js';
import { LinuxPacketSocket } from '../../src/io/linux/raw-socket.js';
import { LinuxTun } from '../../src/io/linux/tun.js';
import type { IpFamily } from '../../src/io/types.js';
import { addNetns, delNetns, rootSkip, runInNetns, sh, uniqueName } from '../io/netns.js';

const KEY_A_TO_B = Buffer.from('606162636465666768696a6b6c6d6e6f606162636465666768696a6b6c6d6e6f', 'hex');
const KEY_B_TO_A = Buffer.from('707172737475767778797a7b7c7d7e7f707172737475767778797a7b7c7d7e7f', 'hex');
const SPI_A_TO_B = 0xa1000001;
const SPI_B_TO_A = 0xb1000001;
const REQID = 7;

const PLAN = {
  4: { outerA: '192.0.2.1', outerB: '192.0.2.2', innerA: '198.51.100.1', innerB: '203.0.113.1', host: 32 },
  6: { outerA: '2001:db8::1', outerB: '2001:db8::2', innerA: '2001:db8:a::1', innerB: '2001:db8:b::1', host: 128 },
} as const;

interface Side {
  readonly dp: UserspaceDataplane;
  readonly tun: LinuxTun;
  readonly ah: LinuxPacketSocket;
}

async function side(
  ns: string,
  family: IpFamily,
  local: { outer: string; inner: string },
  remote: { outer: string; inner: string },
  spis: { out: number; in: number },
  keys: { out: Buffer; in: Buffer },
): Promise<Side> {
  const host = PLAN[family].host;
  const tun = new LinuxTun({ name: 'tsiah0', netns: ns, mtu: 1400 });
  const ah = new LinuxPacketSocket({ family, protocol: IpProto.AH, netns: ns, headerIncluded: family === 4 });
  const dp = new UserspaceDataplane({ tun, ahSockets: { [family]: ah }, rng: createTestRng(`netns ah ${ns}`) });
  const nodad = family === 6 ? ['nodad'] : [];
  sh('ip', ['-n', ns, 'addr', 'add', `${local.inner}/${host}`, 'dev', tun.name, ...nodad]);
  sh('ip', ['-n', ns, 'route', 'add', `${remote.inner}/${host}`, 'dev', tun.name, 'src', local.inner]);
  const sel = { local: `${local.inner}/${host}`, remote: `${remote.inner}/${host}` };
  await dp.addPolicy({ direction: 'out', selector: sel, action: 'protect', reqid: REQID });
  const common = {
    protocol: 'ah',
    mode: 'tunnel',
    reqid: REQID,
    replayWindow: 64,
    esn: true,
    selectors: [sel],
  } as const;
  await dp.addSa({
    ...common,
    spi: spis.out,
    inbound: false,
    src: local.outer,
    dst: remote.outer,
    integ: { id: IntegId.AUTH_HMAC_SHA2_256_128, key: keys.out },
  });
  await dp.addSa({
    ...common,
    spi: spis.in,
    inbound: true,
    src: remote.outer,
    dst: local.outer,
    integ: { id: IntegId.AUTH_HMAC_SHA2_256_128, key: keys.in },
  });
  dp.start();
  return { dp, tun, ah };
}

for (const family of [4, 6] as const) {
  test(
    `ping through an AH tunnel between two namespaces over IPv${family} (LinuxTun + raw AH sockets)`,
    { skip: rootSkip },
    async () => {
      const p = PLAN[family];
      const nsA = uniqueName('tsi-ah');
      const nsB = uniqueName('tsi-ah');
      const sides: Side[] = [];
      try {
        addNetns(nsA);
        addNetns(nsB);
        sh('ip', ['-n', nsA, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1', 'netns', nsB]);
        const plen = family === 4 ? 24 : 64;
        const nodad = family === 6 ? ['nodad'] : [];
        sh('ip', ['-n', nsA, 'addr', 'add', `${p.outerA}/${plen}`, 'dev', 'veth0', ...nodad]);
        sh('ip', ['-n', nsB, 'addr', 'add', `${p.outerB}/${plen}`, 'dev', 'veth1', ...nodad]);
        sh('ip', ['-n', nsA, 'link', 'set', 'veth0', 'up']);
        sh('ip', ['-n', nsB, 'link', 'set', 'veth1', 'up']);
        const a = { outer: p.outerA, inner: p.innerA };
        const b = { outer: p.outerB, inner: p.innerB };
        sides.push(
          await side(nsA, family, a, b, { out: SPI_A_TO_B, in: SPI_B_TO_A }, { out: KEY_A_TO_B, in: KEY_B_TO_A }),
        );
        sides.push(
          await side(nsB, family, b, a, { out: SPI_B_TO_A, in: SPI_A_TO_B }, { out: KEY_B_TO_A, in: KEY_A_TO_B }),
        );
        const [sa, sb] = sides as [Side, Side];

        const code = await runInNetns(
          nsA,
          'ping',
          ['-c', '3', '-i', '0.2', '-W', '2', '-I', p.innerA, p.innerB],
          10_000,
        );
        assert.equal(code, 0, 'ping answered through the AH tunnel');

        const usage = async (s: Side, spi: number, dst: string): Promise<number> =>
          (await s.dp.querySa({ protocol: 'ah', spi, dst })).packets;
        const sentAB = await usage(sa, SPI_A_TO_B, p.outerB);
        assert.ok(sentAB >= 3, `A sealed ${sentAB} echo requests`);
        assert.equal(await usage(sb, SPI_A_TO_B, p.outerB), sentAB, 'B opened every packet A sealed');
        const repliesB = await usage(sb, SPI_B_TO_A, p.outerA);
        assert.ok(repliesB >= 3, `B sealed ${repliesB} echo replies`);
        assert.equal(await usage(sa, SPI_B_TO_A, p.outerA), repliesB, 'A opened every reply B sealed');
        for (const [s, spi, dst] of [
          [sa, SPI_B_TO_A, p.outerA],
          [sb, SPI_A_TO_B, p.outerB],
        ] as const) {
          const drops = (await s.dp.querySa({ protocol: 'ah', spi, dst })).drops;
          assert.equal(drops.icv, 0, 'no ICV failure: the received outer header is the sealed one');
          assert.equal(s.dp.stats.drops.sendFailed, 0);
          assert.equal(s.ah.stats.txErrors, 0);
        }
      } finally {
        for (const s of sides) {
          await s.tun.close();
          await s.ah.close();
        }
        delNetns(nsA);
        delNetns(nsB);
      }
    },
  );
}
