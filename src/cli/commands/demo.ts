import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command, CommandContext } from '../command.js';
import { parseArgs, UsageError } from '../args.js';
import { Lab, canRunLab, waitFor } from '../../demo/lab.js';
import type { LabHost } from '../../demo/lab.js';
import { ControlClient } from '../../control/client.js';
import { formatSas } from '../format.js';
import type { IkeSaInfo } from '../../control/schema.js';
import { demoPki, demoPkiConfig } from './demo-pki.js';

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

/** swanctl.conf for one side of the demo: PSK, AES-GCM, a /32 on each side. */
export function demoConfig(me: LabHost, peer: LabHost, meName: string, peerName: string, encap: boolean): string {
  return `# ts-ipsec demo: ${meName}
connections {
  demo {
    version = 2
    local_addrs = ${me.outer4}
    remote_addrs = ${peer.outer4}
    encap = ${encap ? 'yes' : 'no'}
    proposals = aes128gcm16-prfsha256-x25519
    local {
      auth = psk
      id = ${meName}.demo
    }
    remote {
      auth = psk
      id = ${peerName}.demo
    }
    children {
      net {
        local_ts = ${me.inner4}/32
        remote_ts = ${peer.inner4}/32
        esp_proposals = aes128gcm16
      }
    }
  }
}
secrets {
  ike-demo {
    id = ${meName}.demo
    secret = "demo-only-preshared-key-change-me"
  }
}
`;
}

async function startDaemon(
  lab: Lab,
  host: LabHost,
  name: string,
  conf: string,
  logLevel: string,
  confDir = lab.dir,
): Promise<string> {
  const confPath = path.join(confDir, `${name}.swanctl.conf`);
  const sock = path.join(lab.dir, `${name}.sock`);
  const logPath = path.join(lab.dir, `${name}.log`);
  fs.writeFileSync(confPath, conf, { mode: 0o600 });
  const log = fs.openSync(logPath, 'w');
  const child = lab.spawn(
    host,
    process.execPath,
    [MAIN, 'daemon', '--config', confPath, '--control', sock, '--log-level', logLevel],
    {
      stdio: ['ignore', log, log],
    },
  );
  fs.closeSync(log);
  let exited = false;
  child.on('exit', () => (exited = true));
  await waitFor(
    `the ${name} daemon's control socket`,
    () => {
      if (exited) throw new Error(`the ${name} daemon exited:\n${fs.readFileSync(logPath, 'utf8')}`);
      return fs.existsSync(sock);
    },
    15_000,
  );
  return sock;
}

async function demo(
  ctx: CommandContext,
  encap: boolean,
  keep: boolean,
  logLevel: string,
  pki = false,
): Promise<number> {
  const say = (s: string) => ctx.stdout.write(s + '\n');
  const can = canRunLab();
  if (!can.ok) {
    ctx.stderr.write(
      `tsipsec demo: ${can.why}; it creates two network namespaces with a link between them. Run it as root (sudo).\n`,
    );
    return 1;
  }
  const lab = await Lab.create('demo');
  const stop = () => void lab.destroy().then(() => process.exit(130));
  process.once('SIGINT', stop);
  try {
    const { left, right } = lab;
    say(`Two hosts in network namespaces, joined by a veth link:`);
    say(`  left   ${left.ns.padEnd(24)} outer ${left.outer4}  protected net ${left.inner4}/32`);
    say(`  right  ${right.ns.padEnd(24)} outer ${right.outer4}  protected net ${right.inner4}/32`);
    const dirs = pki ? demoPki(lab.dir, ['left', 'right']) : new Map<string, string>();
    if (pki) say(`A demo CA issued a certificate to each (folders ${lab.dir}/left and ${lab.dir}/right).`);
    const config = pki ? demoPkiConfig : demoConfig;
    const rightSock = await startDaemon(
      lab,
      right,
      'right',
      config(right, left, 'right', 'left', encap),
      logLevel,
      dirs.get('right'),
    );
    const leftSock = await startDaemon(
      lab,
      left,
      'left',
      config(left, right, 'left', 'right', encap),
      logLevel,
      dirs.get('left'),
    );
    say(`Started a tsipsec daemon on each (configs and logs in ${lab.dir}).`);
    say(`\n$ tsipsec --control ${leftSock} up net`);
    const client = await ControlClient.connect(leftSock);
    try {
      const up = (await client.call('up', { name: 'net', timeoutSec: 20 })) as {
        children: { name: string; uniqueId: number; spiIn: string; spiOut: string }[];
      };
      for (const c of up.children)
        say(`CHILD_SA ${c.name}{${c.uniqueId}} established with SPIs ${c.spiIn}_i ${c.spiOut}_o`);
      say(`\n$ ping -c 3 -I ${left.inner4} ${right.inner4}     (in ${left.ns})`);
      say((await lab.exec(left, 'ping', ['-c', '3', '-i', '0.3', '-W', '2', '-I', left.inner4, right.inner4])).trim());
      const sas = (await client.call('sas')) as { ikeSas: IkeSaInfo[] };
      say(`\n$ tsipsec --control ${leftSock} sas`);
      ctx.stdout.write(formatSas(sas.ikeSas));
      const s = sas.ikeSas[0];
      const c = s?.children[0];
      if (s && c) {
        say(
          `\nIn plain words: ${s.localId} (${s.localAddr}) and ${s.remoteId} (${s.remoteAddr}) authenticated each other with ` +
            `${pki ? `certificates from ${s.remoteCert?.issuer ?? 'the demo CA'}` : 'a pre-shared key'} and agreed on ${s.proposal}. Traffic between ${c.localTs.join(', ')} and ${c.remoteTs.join(', ')} is` +
            ` carried in ESP ${c.mode} mode${c.encap ? ' inside UDP port 4500' : ' (IP protocol 50)'}, encrypted with ${c.encryption}:` +
            ` ${c.out.packets} packets out, ${c.in.packets} packets in, SPIs ${c.spiOut} (out) and ${c.spiIn} (in).`,
        );
      }
      say(`\n$ tsipsec --control ${leftSock} down demo`);
      const down = (await client.call('down', { name: 'demo' })) as { deleted: string[] };
      for (const d of down.deleted) say(`deleted ${d}`);
    } finally {
      client.close();
    }
    void rightSock;
    return 0;
  } catch (e) {
    ctx.stderr.write(`tsipsec demo: ${(e as Error).message}\n`);
    for (const side of ['left', 'right']) {
      const p = path.join(lab.dir, `${side}.log`);
      if (fs.existsSync(p))
        ctx.stderr.write(`--- ${side} daemon log (last lines) ---\n${tail(fs.readFileSync(p, 'utf8'), 25)}\n`);
    }
    return 1;
  } finally {
    process.off('SIGINT', stop);
    if (keep) {
      lab.detach();
      say(`\nLeft running (--keep): namespaces ${lab.left.ns} and ${lab.right.ns}; remove with 'ip netns del'.`);
    } else {
      await lab.destroy();
      say(`\nRemoved the namespaces and daemons.`);
    }
  }
}

function tail(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'two hosts in network namespaces, a tunnel between them, a ping through it (needs root)',
  usage: `Usage: tsipsec demo [--encap] [--pki] [--keep] [--log-level N]

Creates two network namespaces joined by a veth link, starts a tsipsec daemon in each with a swanctl.conf
(PSK, aes128gcm16-prfsha256-x25519), brings the tunnel up, pings through it, shows the SAs, deletes them and
removes everything. --pki authenticates with certificates from a demo CA instead of the PSK (each host's
swanctl.conf beside x509ca/, x509/ and private/); --encap carries ESP in UDP 4500; --keep leaves the namespaces and daemons running.
`,
  async run(argv, ctx) {
    const p = parseArgs(argv, {
      encap: { value: false },
      pki: { value: false },
      keep: { value: false },
      'log-level': { value: true },
    });
    if (p.positional.length > 0) throw new UsageError('demo takes no arguments');
    const level = p.flags.get('log-level');
    return demo(
      ctx,
      p.flags.has('encap'),
      p.flags.has('keep'),
      typeof level === 'string' ? level : '1',
      p.flags.has('pki'),
    );
  },
};
