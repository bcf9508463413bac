/**
 * DNS servers a gateway handed out (RFC 7296 3.15.1 INTERNAL_IP4_DNS / INTERNAL_IP6_DNS), installed where this
 * host looks them up. In a named network namespace with an `/etc/netns/NAME/` folder (what `ip netns exec`
 * bind-mounts over /etc) the namespace's own resolv.conf is written; outside a named namespace `resolvconf` when
 * installed; else nothing (the caller logs them). The host's own /etc/resolv.conf is never written here.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Where the servers went, and how to take them out again. */
export interface DnsInstall {
  /** `/etc/netns/NAME/resolv.conf` or `resolvconf IFACE.tsipsec`. */
  readonly where: string;
  readonly remove: () => Promise<void>;
}

const NETNS_ETC = '/etc/netns';

function run(cmd: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

function hasCommand(name: string): boolean {
  const dirs = (process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':');
  return dirs.some((d) => d !== '' && fs.existsSync(path.join(d, name)));
}

/** The name of the network namespace this process runs in (`ip netns identify`), or undefined. */
async function netnsName(): Promise<string | undefined> {
  const name = (await run('ip', ['netns', 'identify']).catch(() => '')).trim().split('\n')[0] ?? '';
  return name === '' ? undefined : name;
}

function resolvConf(servers: readonly string[]): string {
  return `# written by tsipsec: DNS servers of the IPsec gateway\n${servers.map((s) => `nameserver ${s}\n`).join('')}`;
}

/** Installs `servers` for interface `dev`; undefined when this host has no place for them. */
export async function installDns(servers: readonly string[], dev: string): Promise<DnsInstall | undefined> {
  const ns = await netnsName();
  const nsDir = ns === undefined ? undefined : path.join(NETNS_ETC, ns);
  if (nsDir !== undefined && fs.existsSync(nsDir)) {
    const file = path.join(nsDir, 'resolv.conf');
    const before = fs.existsSync(file) ? fs.readFileSync(file) : undefined;
    fs.writeFileSync(file, resolvConf(servers));
    return {
      where: file,
      remove: () => {
        if (before !== undefined) fs.writeFileSync(file, before);
        else fs.rmSync(file, { force: true });
        return Promise.resolve();
      },
    };
  }
  // resolvconf in a namespace would change the host's own resolver: a namespace without its folder gets nothing.
  if (ns === undefined && hasCommand('resolvconf')) {
    const record = `${dev}.tsipsec`;
    await run('resolvconf', ['-a', record], resolvConf(servers));
    return {
      where: `resolvconf ${record}`,
      remove: async () => {
        await run('resolvconf', ['-d', record]);
      },
    };
  }
  return undefined;
}
