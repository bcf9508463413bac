/**
 * strongSwan's charon as a test peer inside a lab namespace, with its user-space data plane (kernel-libipsec,
 * a TUN device), its own /run (tmpfs in the namespace's mount namespace), vici socket and log in the lab folder.
 * kernel-libipsec in strongSwan 5.9.8 does ESP in UDP only, so its swanctl.conf connections set `encap = yes`.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import type { Lab, LabHost } from './lab.js';
import { waitFor } from './lab.js';

const run = promisify(execFile);

export const CHARON = '/usr/lib/ipsec/charon';

export class StrongSwan {
  readonly vici: string;
  readonly logFile: string;
  private readonly lab: Lab;

  private constructor(lab: Lab, vici: string, logFile: string) {
    this.lab = lab;
    this.vici = vici;
    this.logFile = logFile;
  }

  /**
   * Starts charon in `host` and loads `swanctlConf` (text). `charon` adds or overrides `charon.*` settings of
   * strongswan.conf (e.g. `retransmit_tries`, `rsa_pss`). With `swanctlDir` the swanctl.conf is written there,
   * so swanctl loads the credential folders beside it (x509/, x509ca/, private/, pubkey/, ...).
   */
  static async start(
    lab: Lab,
    host: LabHost,
    swanctlConf: string,
    charon: Readonly<Record<string, string>> = {},
    swanctlDir?: string,
  ): Promise<StrongSwan> {
    const base = path.join(lab.dir, `charon-${host.ns}`);
    const vici = `${base}.vici`;
    const logFile = `${base}.log`;
    const conf = `${base}-strongswan.conf`;
    const swanctl = swanctlDir === undefined ? `${base}-swanctl.conf` : path.join(swanctlDir, 'swanctl.conf');
    fs.writeFileSync(
      conf,
      `charon {
  load = random nonce openssl aesni sha1 sha2 hmac gcm chapoly curve25519 gmp mgf1 x509 pem pkcs1 pkcs8 pubkey revocation constraints kdf attr socket-default kernel-libipsec kernel-netlink vici eap-identity eap-md5 eap-mschapv2
  port = 500
  port_nat_t = 4500
  install_routes = yes
${Object.entries({ retransmit_tries: '2', retransmit_timeout: '1', ...charon })
  .map(([k, v]) => `  ${k} = ${v}\n`)
  .join('')}  plugins {
    vici { socket = unix://${vici} }
    kernel-libipsec { allow_peer_ts = yes }
  }
  filelog { test { path = ${logFile}
    default = 1
    ike = 2
    cfg = 2
    time_format = %T
    flush_line = yes } }
}
`,
    );
    fs.writeFileSync(swanctl, swanctlConf, { mode: 0o600 });
    lab.spawn(host, 'sh', ['-c', `mount -t tmpfs tmpfs /run && STRONGSWAN_CONF=${conf} exec ${CHARON}`], {
      stdio: 'ignore',
    });
    const peer = new StrongSwan(lab, vici, logFile);
    await waitFor(`charon's vici socket in ${host.ns}`, () => fs.existsSync(vici), 10_000);
    await peer.swanctl('--load-all', '--file', swanctl);
    return peer;
  }

  /** Runs swanctl against this charon; returns stdout. */
  async swanctl(...args: string[]): Promise<string> {
    try {
      const { stdout } = await run('swanctl', [...args, '--uri', `unix://${this.vici}`], { timeout: 30_000 });
      return stdout;
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string; message: string };
      throw new Error(`swanctl ${args.join(' ')} failed: ${(err.stdout ?? '') + (err.stderr ?? err.message)}`);
    }
  }

  /** `swanctl --list-sas --raw` parsed loosely: the text, for assertions on names and states. */
  listSas(): Promise<string> {
    return this.swanctl('--list-sas');
  }

  log(): string {
    return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, 'utf8') : '';
  }
}
