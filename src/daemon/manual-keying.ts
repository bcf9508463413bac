/**
 * Manually keyed SAs and policies in `ip xfrm` syntax (`tsipsec xfrm ...`, `daemon --xfrm FILE`), beside
 * the IKE ones in the same data plane. Out policies with a template get their route into the TUN through
 * the policy installer, as IKE's own policies do.
 */
import type { KernelIpsec } from '../kernel/kernel-ipsec.js';
import type { XfrmPolicyJson } from '../xfrm/format-list.js';
import { loadXfrmFile } from '../xfrm/load-file.js';
import { parseXfrmLine } from '../xfrm/parse.js';
import { XfrmTables } from '../xfrm/xfrm-tables.js';
import type { XfrmResult } from '../xfrm/xfrm-tables.js';
import type { Installed, PolicyInstaller } from './policy-installer.js';

export class ManualKeying {
  readonly #tables: XfrmTables;
  readonly #policies: PolicyInstaller;
  /** Routes of manual out policies, by destination prefix. */
  readonly #routes = new Map<string, Installed>();

  constructor(kernel: KernelIpsec, policies: PolicyInstaller, isLocalAddress?: (address: string) => boolean) {
    this.#tables = new XfrmTables(kernel, isLocalAddress ? { isLocalAddress } : {});
    this.#policies = policies;
  }

  /** One `ip xfrm` command line; policy commands bring the routes up to date. */
  async line(line: string): Promise<XfrmResult> {
    const cmd = parseXfrmLine(line);
    const result = await this.#tables.execute(cmd);
    if (cmd.object === 'policy') await this.#syncRoutes();
    return result;
  }

  /** Every line of `file` in order; the first failure stops with file:line. */
  async file(file: string): Promise<void> {
    await this.#tables.applyFile(loadXfrmFile(file), file);
    await this.#syncRoutes();
  }

  /** A route for each `dir out` allow policy with a template, none for anything else. */
  async #syncRoutes(): Promise<void> {
    const listed = (await this.#tables.execute(parseXfrmLine('policy list'))).json as { policies?: XfrmPolicyJson[] };
    const want = new Map<string, string>();
    for (const p of listed.policies ?? [])
      if (p.dir === 'out' && p.action === 'allow' && p.tmpls.length > 0) want.set(p.sel.dst, p.sel.src);
    for (const [prefix, installed] of this.#routes) {
      if (want.has(prefix)) continue;
      await this.#policies.remove(installed);
      this.#routes.delete(prefix);
    }
    for (const [prefix, local] of want) {
      if (this.#routes.has(prefix)) continue;
      const installed = await this.#policies.install({
        label: 'manual policy',
        policies: [],
        routes: [{ prefix, locals: [local] }],
      });
      this.#routes.set(prefix, installed);
    }
  }
}
