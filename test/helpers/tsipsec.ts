/** A tsipsec daemon inside a lab namespace, started from the built CLI, with its control socket and log in the lab folder. */
import fs from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab, LabHost } from './lab.js';
import { waitFor } from './lab.js';
import { ControlClient } from '../../src/control/client.js';
import { ControlServer } from '../../src/control/server.js';

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export class TsipsecPeer {
  readonly control: string;
  readonly logFile: string;
  readonly configFile: string;
  /** The daemon process (`ip netns exec` execs node, so signals reach the daemon itself). */
  readonly process: ChildProcess;

  private constructor(control: string, logFile: string, configFile: string, proc: ChildProcess) {
    this.control = control;
    this.logFile = logFile;
    this.configFile = configFile;
    this.process = proc;
  }

  static async start(
    lab: Lab,
    host: LabHost,
    swanctlConf: string,
    logLevel = 2,
    extraArgs: readonly string[] = [],
  ): Promise<TsipsecPeer> {
    const base = path.join(lab.dir, `tsipsec-${host.ns}`);
    const control = `${base}.sock`;
    const logFile = `${base}.log`;
    const configFile = `${base}.swanctl.conf`;
    fs.writeFileSync(configFile, swanctlConf, { mode: 0o600 });
    const log = fs.openSync(logFile, 'w');
    const child = lab.spawn(
      host,
      process.execPath,
      [CLI, 'daemon', '--config', configFile, '--control', control, '--log-level', String(logLevel), ...extraArgs],
      { stdio: ['ignore', log, log] },
    );
    fs.closeSync(log);
    let exited = false;
    child.on('exit', () => (exited = true));
    await waitFor(
      `the tsipsec daemon in ${host.ns}`,
      () => {
        if (exited) throw new Error(`tsipsec daemon in ${host.ns} exited:\n${fs.readFileSync(logFile, 'utf8')}`);
        // The socket file appears at bind(), a moment before listen(): wait until it answers.
        return ControlServer.inUse(control);
      },
      15_000,
    );
    return new TsipsecPeer(control, logFile, configFile, child);
  }

  /** One control command; rejects with the daemon's error message. */
  async call(command: string, args: Record<string, unknown> = {}): Promise<unknown> {
    const c = await ControlClient.connect(this.control);
    try {
      return await c.call(command, args);
    } finally {
      c.close();
    }
  }

  log(): string {
    return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, 'utf8') : '';
  }
}
