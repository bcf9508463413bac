import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import type { Command } from '../command.js';
import { parseArgs, UsageError, flagString } from '../args.js';
import { createLineLogger, LogLevel } from '../../common/log.js';
import { ConfigError } from '../../config/config-error.js';
import { nodeRng } from '../../crypto/rng.js';
import { configureCryptoBackend } from '../../crypto/index.js';
import { warmUpDataplane } from '../../dataplane/warm-up.js';
import { openLoopbackUdpPair, type LoopbackUdpPair } from '../../io/linux/loopback-pair.js';
import { ControlServer } from '../../control/server.js';
import { ControlError } from '../../control/protocol.js';
import { Daemon } from '../../daemon/daemon.js';
import { linuxIo } from '../../daemon/daemon-io.js';
import { loadDaemonConfig } from '../../daemon/load-config.js';
import { DEFAULT_STRONGSWAN_CONF, loadCharonSettings, retransmitGiveUpSec } from '../../daemon/strongswan-conf.js';
import type { CharonSettings } from '../../daemon/strongswan-conf.js';
import { SAVE_KEYS_WARNING, SaveKeysError, SaveKeysFiles } from '../../daemon/save-keys.js';
import { XfrmError } from '../../xfrm/xfrm-error.js';
import { KernelError } from '../../kernel/kernel-ipsec.js';

/** Our own addresses, for manual SAs given without `dir in|out`. */
function isLocalAddress(address: string): boolean {
  for (const list of Object.values(os.networkInterfaces()))
    for (const a of list ?? []) if (a.address === address) return true;
  return false;
}

export const daemon: Command = {
  name: 'daemon',
  summary: 'run the IKE daemon and data plane in the foreground (logs to stderr)',
  usage: `Usage: tsipsec [--control SOCK] daemon --config FILE [--strongswan-conf FILE] [--xfrm FILE] [--save-keys DIR] [--log-level N] [--tun NAME] [--mtu N] [--no-offload]

Runs in the foreground with the connections of FILE (strongSwan swanctl.conf syntax), a TUN device for
plaintext and the control socket (default /run/tsipsec/control.sock, mode 0600) for the other commands.
SIGHUP reloads FILE; SIGTERM (or Ctrl-C) deletes every SA, telling the peers, and exits 0.

  --config FILE    swanctl.conf to load (required)
  --strongswan-conf FILE  charon.cookie_threshold, block_threshold, init_limit_half_open, retransmit_timeout,
                   retransmit_base, retransmit_tries, retransmit_limit and keep_alive from there
                   (default /etc/strongswan.conf when it exists)
  --xfrm FILE      manually keyed SAs and policies in 'ip xfrm' syntax, one command per line
  --save-keys DIR  write Wireshark's esp_sa and ikev2_decryption_table there (debugging only)
  --log-level N    -1 silent, 0 audit, 1 control (default), 2 detail, 3 raw, 4 private (keys)
  --tun NAME       TUN device name or pattern (default tsi%d)
  --mtu N          TUN MTU (default 1400)
  --no-offload     plain TUN packets (no TSO/USO super-packets read, no GRO writes), plain ESP-in-UDP sends and receives (no UDP GSO, no UDP GRO)
                   (no UDP GRO); default: offloads on
`,
  async run(argv, ctx) {
    const p = parseArgs(argv, {
      config: { value: true, short: 'c' },
      'log-level': { value: true },
      tun: { value: true },
      mtu: { value: true },
      'no-offload': { value: false },
      xfrm: { value: true },
      'save-keys': { value: true },
      'strongswan-conf': { value: true },
    });
    if (p.positional.length > 0) throw new UsageError(`unexpected argument '${p.positional[0]}'`);
    const configFile = flagString(p, 'config');
    if (configFile === undefined) throw new UsageError('--config FILE is required');
    const level = Number(flagString(p, 'log-level') ?? LogLevel.CONTROL);
    if (!Number.isInteger(level) || level < -1 || level > 4) throw new UsageError('--log-level takes -1..4');
    const mtu = Number(flagString(p, 'mtu') ?? 1400);
    if (!Number.isInteger(mtu) || mtu < 576 || mtu > 9000) throw new UsageError('--mtu takes 576..9000');
    const file = path.resolve(configFile);
    const allowWorldReadable = process.env['TSIPSEC_ALLOW_WORLD_READABLE_SECRETS'] === '1';
    const log = createLineLogger({ level, write: (l) => ctx.stderr.write(l + '\n'), now: () => new Date() });

    let loaded;
    try {
      loaded = loadDaemonConfig(file, allowWorldReadable);
    } catch (e) {
      if (e instanceof ConfigError) {
        ctx.stderr.write(`tsipsec daemon: ${file} has errors:\n${e.message}\n`);
        return 1;
      }
      throw e;
    }
    for (const w of loaded.warnings) log.log('cfg', LogLevel.AUDIT, `warning: ${w}`);
    const swanFile =
      flagString(p, 'strongswan-conf') ??
      (fs.existsSync(DEFAULT_STRONGSWAN_CONF) ? DEFAULT_STRONGSWAN_CONF : undefined);
    let charon: CharonSettings = { limits: {} };
    if (swanFile !== undefined) {
      try {
        charon = loadCharonSettings(path.resolve(swanFile));
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        ctx.stderr.write(`tsipsec daemon: ${swanFile} has errors:\n${e.message}\n`);
        return 1;
      }
      const set = Object.entries(charon.limits).map(([k, v]) => `${k} ${String(v)}`);
      const r = charon.retransmit;
      if (r !== undefined)
        set.push(
          `retransmit ${r.timeoutSec} s * ${r.base}^n, ${r.tries} tries, limit ${r.limitSec} s (a silent peer is given up after ${retransmitGiveUpSec(r).toFixed(1)} s)`,
        );
      if (charon.keepAliveSec !== undefined) set.push(`keep_alive ${charon.keepAliveSec} s`);
      log.log('cfg', LogLevel.CONTROL, `${swanFile}: ${set.length > 0 ? set.join(', ') : 'no charon settings we use'}`);
    }
    if (allowWorldReadable)
      log.log(
        'cfg',
        LogLevel.AUDIT,
        'TSIPSEC_ALLOW_WORLD_READABLE_SECRETS=1: secrets files others can read or write are accepted',
      );
    try {
      const chain = configureCryptoBackend(process.env['TSIPSEC_CRYPTO_BACKEND'] ?? 'auto');
      log.log('lib', LogLevel.CONTROL, `crypto backends: ${chain.join(', ')}`);
    } catch (e) {
      ctx.stderr.write(`tsipsec daemon: TSIPSEC_CRYPTO_BACKEND: ${(e as Error).message}\n`);
      return 1;
    }
    if (level >= LogLevel.PRIVATE) log.log('dmn', LogLevel.AUDIT, 'log level 4: key material will be logged');
    // Compile the packet path before the first real packet, and check the crypto backend end to end on the way.
    const warmStart = performance.now();
    let link: LoopbackUdpPair | undefined;
    try {
      link = openLoopbackUdpPair();
    } catch (e) {
      log.log('esp', LogLevel.DETAIL, `data plane warm-up without sockets: ${(e as Error).message}`);
    }
    const warm = await warmUpDataplane(nodeRng, undefined, link).finally(() => link?.close());
    const broken = warm.filter((w) => w.delivered !== w.packets);
    if (broken.length > 0) {
      ctx.stderr.write(
        `tsipsec daemon: the data plane self-test failed: ${broken.length} of ${warm.length} ESP variants did not deliver what they sealed (crypto backend ${process.env['TSIPSEC_CRYPTO_BACKEND'] ?? 'auto'}); try TSIPSEC_CRYPTO_BACKEND=node\n`,
      );
      return 1;
    }
    log.log(
      'esp',
      LogLevel.DETAIL,
      `data plane warmed up: ${warm.reduce((n, w) => n + w.packets, 0)} packets in ${(performance.now() - warmStart).toFixed(0)} ms`,
    );

    const tunName = flagString(p, 'tun');
    const saveKeysDir = flagString(p, 'save-keys');
    let saveKeys: SaveKeysFiles | undefined;
    if (saveKeysDir !== undefined) {
      log.log('dmn', LogLevel.AUDIT, `WARNING: ${SAVE_KEYS_WARNING} (${path.resolve(saveKeysDir)})`);
      try {
        saveKeys = new SaveKeysFiles(path.resolve(saveKeysDir));
      } catch (e) {
        if (!(e instanceof SaveKeysError)) throw e;
        ctx.stderr.write(`tsipsec daemon: ${e.message}\n`);
        return 1;
      }
    }
    const d = new Daemon({
      config: loaded.config,
      io: linuxIo({ mtu, offload: !p.flags.has('no-offload'), ...(tunName !== undefined ? { tunName } : {}) }),
      rng: nodeRng,
      log,
      isLocalAddress,
      limits: charon.limits,
      ...(charon.retransmit !== undefined ? { retransmit: charon.retransmit } : {}),
      ...(charon.keepAliveSec !== undefined ? { keepAliveSec: charon.keepAliveSec } : {}),
      ...(saveKeys !== undefined ? { saveKeys } : {}),
    });
    if (await ControlServer.inUse(ctx.control)) {
      ctx.stderr.write(
        `tsipsec daemon: control socket ${ctx.control} is in use by another daemon; stop it or pass --control PATH\n`,
      );
      return 1;
    }
    try {
      await d.start();
    } catch (e) {
      ctx.stderr.write(`tsipsec daemon: cannot start: ${(e as Error).message}\n`);
      await d.stop(0);
      return 1;
    }
    log.log('dmn', LogLevel.AUDIT, `control socket ${ctx.control}; config ${file}`);
    const xfrmFile = flagString(p, 'xfrm');
    if (xfrmFile !== undefined) {
      try {
        await d.xfrmFile(path.resolve(xfrmFile));
        log.log('cfg', LogLevel.AUDIT, `loaded manual SAs and policies from ${xfrmFile}`);
      } catch (e) {
        ctx.stderr.write(`tsipsec daemon: ${(e as Error).message}\n`);
        await d.stop(0);
        return 1;
      }
    }

    // The socket appears only now: once it exists, trap policies, routes and manual SAs are in place.
    let server: ControlServer;
    try {
      server = await ControlServer.listen(ctx.control);
    } catch (e) {
      ctx.stderr.write(`tsipsec daemon: ${(e as Error).message}\n`);
      await d.stop(0);
      return 1;
    }
    const reload = async (f: string) => {
      const next = loadDaemonConfig(f, allowWorldReadable);
      const names = await d.reload(next.config);
      return { connections: names, warnings: next.warnings };
    };
    server.handle('up', (r) => {
      const name = r.args['name'];
      if (typeof name !== 'string') throw new ControlError('bad-request', 'up needs a name');
      const t = r.args['timeoutSec'];
      return d.up(name, typeof t === 'number' && t > 0 ? t : 30);
    });
    server.handle('down', (r) => {
      const name = r.args['name'];
      if (typeof name !== 'string') throw new ControlError('bad-request', 'down needs a name');
      return d.down(name);
    });
    server.handle('sas', () => d.sas());
    server.handle('xfrm', async (r) => {
      const line = r.args['line'];
      if (typeof line !== 'string') throw new ControlError('bad-request', 'xfrm needs a line');
      try {
        return await d.xfrmLine(line);
      } catch (e) {
        if (e instanceof XfrmError || e instanceof KernelError) throw new ControlError('xfrm', e.message);
        throw e;
      }
    });
    server.handle('conns', () => d.conns());
    server.handle('pools', () => d.pools());
    server.handle('stats', () => d.stats());
    server.handle('load', async (r) => {
      const f = r.args['file'];
      if (typeof f !== 'string') throw new ControlError('bad-request', 'load needs a file');
      try {
        return await reload(f);
      } catch (e) {
        if (e instanceof ConfigError) throw new ControlError('config', e.message);
        throw e;
      }
    });
    // A bug in one handler must not take every tunnel down: log it loudly and keep serving.
    process.on('unhandledRejection', (e) => {
      log.log(
        'dmn',
        LogLevel.AUDIT,
        `internal error (please report): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
      );
    });

    return new Promise<number>((resolve) => {
      let stopping = false;
      const stop = (sig: string) => {
        if (stopping) return;
        stopping = true;
        log.log('dmn', LogLevel.AUDIT, `${sig}: deleting SAs and stopping`);
        void (async () => {
          await d.stop();
          await server.close();
          process.off('SIGHUP', hup);
          resolve(0);
        })();
      };
      const hup = () => {
        reload(file).then(
          (r) => log.log('cfg', LogLevel.AUDIT, `reloaded ${file}: ${r.connections.join(', ') || 'no connections'}`),
          (e: Error) =>
            log.log('cfg', LogLevel.AUDIT, `reload of ${file} refused, keeping the old configuration:\n${e.message}`),
        );
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
      process.on('SIGHUP', hup);
    });
  },
};
