/**
 * The manually keyed SAs and policies (RFC 4301 4.5) the daemon holds for `tsipsec xfrm ...` and
 * `--xfrm FILE`: applies typed commands through the kernel boundary and answers `get`/`list` in iproute2's
 * layout or as JSON. SAs and policies installed by IKE are not listed here (they are in `tsipsec sas`).
 */
import type { KernelIpsec } from '../kernel/kernel-ipsec.js';
import type { XfrmCommand, XfrmPolicyAdd, XfrmSelector, XfrmStateAdd } from './xfrm-command.js';
import type { XfrmFileCommand } from './load-file.js';
import { parseXfrmLine } from './parse.js';
import { formatPolicyList, formatStateList, policyToJson, stateToJson } from './format-list.js';
import type { XfrmPolicyJson, XfrmStateJson } from './format-list.js';
import { policyToAddPolicyArgs, stateIdOf, stateIsInbound, stateToAddSaArgs } from './to-kernel.js';
import type { StateMappingOptions } from './to-kernel.js';
import { XfrmError } from './xfrm-error.js';

export interface XfrmResult {
  /** What `ip xfrm` would print ('' for add, del and flush). */
  readonly text: string;
  /** The same as JSON: states for state get/list, policies for policy list, else the count changed. */
  readonly json: { states: XfrmStateJson[] } | { policies: XfrmPolicyJson[] } | { changed: number };
}

interface PolicyRecord {
  readonly policy: XfrmPolicyAdd;
  readonly id: number;
}

function sameSelector(a: XfrmSelector, b: XfrmSelector): boolean {
  return (
    a.src === b.src &&
    a.dst === b.dst &&
    a.proto === b.proto &&
    a.sport === b.sport &&
    a.dport === b.dport &&
    a.type === b.type &&
    a.code === b.code
  );
}

export class XfrmTables {
  private readonly kernel: KernelIpsec;
  private readonly options: StateMappingOptions;
  private readonly states: XfrmStateAdd[] = [];
  private readonly policies: PolicyRecord[] = [];

  constructor(kernel: KernelIpsec, options: StateMappingOptions = {}) {
    this.kernel = kernel;
    this.options = options;
  }

  /** Apply one command. Throws XfrmError (bad arguments, unknown or duplicate SA/policy) or KernelError. */
  async execute(cmd: XfrmCommand): Promise<XfrmResult> {
    if (cmd.object === 'state') {
      switch (cmd.verb) {
        case 'add': {
          const id = stateIdOf(cmd);
          if (this.findState(id.dst, id.protocol, id.spi) >= 0) {
            throw new XfrmError(
              'spi',
              `an SA with dst ${cmd.dst} proto ${cmd.proto} spi ${cmd.spi} exists`,
              cmd.positions['spi'],
              'delete it first',
            );
          }
          await this.kernel.addSa(stateToAddSaArgs(cmd, this.options));
          this.states.push(cmd);
          return changed(1);
        }
        case 'del':
        case 'get': {
          const i = this.findState(cmd.dst, cmd.proto, cmd.spi);
          const s = this.states[i];
          if (s === undefined || (cmd.src !== undefined && s.src !== cmd.src)) {
            throw new XfrmError(
              'spi',
              `no SA with dst ${cmd.dst} proto ${cmd.proto} spi 0x${cmd.spi.toString(16)}`,
              undefined,
              'see xfrm state list',
            );
          }
          if (cmd.verb === 'get') return this.stateResult([s], false);
          await this.kernel.delSa(stateIdOf(s));
          this.states.splice(i, 1);
          return changed(1);
        }
        case 'list':
          return this.stateResult(
            this.states.filter(
              (s) =>
                (cmd.src === undefined || s.src === cmd.src) &&
                (cmd.dst === undefined || s.dst === cmd.dst) &&
                (cmd.proto === undefined || s.proto === cmd.proto) &&
                (cmd.spi === undefined || s.spi === cmd.spi) &&
                (cmd.mode === undefined || s.mode === cmd.mode) &&
                (cmd.reqid === undefined || s.reqid === cmd.reqid),
            ),
            cmd.nokeys,
          );
        case 'flush': {
          const gone = this.states.filter((s) => cmd.proto === undefined || s.proto === cmd.proto);
          for (const s of gone) {
            await this.kernel.delSa(stateIdOf(s)).catch(() => undefined);
            this.states.splice(this.states.indexOf(s), 1);
          }
          return changed(gone.length);
        }
      }
    }
    switch (cmd.verb) {
      case 'add': {
        if (this.policies.some((p) => p.policy.dir === cmd.dir && sameSelector(p.policy.sel, cmd.sel))) {
          throw new XfrmError(
            'dir',
            'a policy with this selector and direction exists',
            cmd.positions['dir'],
            'delete it first',
          );
        }
        const id = await this.kernel.addPolicy(policyToAddPolicyArgs(cmd));
        this.policies.push({ policy: cmd, id });
        return changed(1);
      }
      case 'del': {
        const i = this.policies.findIndex(
          (p) =>
            p.policy.dir === cmd.dir &&
            (cmd.index !== undefined
              ? p.id === cmd.index
              : cmd.sel !== undefined && sameSelector(p.policy.sel, cmd.sel)),
        );
        const p = this.policies[i];
        if (p === undefined) throw new XfrmError('dir', 'no such policy', undefined, 'see xfrm policy list');
        await this.kernel.delPolicy(p.id);
        this.policies.splice(i, 1);
        return changed(1);
      }
      case 'list': {
        const f = cmd.sel ?? {};
        const list = this.policies.filter(
          (p) =>
            (cmd.dir === undefined || p.policy.dir === cmd.dir) &&
            (cmd.action === undefined || p.policy.action === cmd.action) &&
            (cmd.priority === undefined || (p.policy.priority ?? 0) === cmd.priority) &&
            (cmd.index === undefined || p.id === cmd.index) &&
            (f.src === undefined || p.policy.sel.src === f.src) &&
            (f.dst === undefined || p.policy.sel.dst === f.dst) &&
            (f.proto === undefined || p.policy.sel.proto === f.proto),
        );
        const entries = list.map((p) => ({ policy: p.policy, index: p.id }));
        return { text: formatPolicyList(entries), json: { policies: entries.map(policyToJson) } };
      }
      case 'flush': {
        const n = this.policies.length;
        for (const p of this.policies.splice(0)) await this.kernel.delPolicy(p.id).catch(() => undefined);
        return changed(n);
      }
    }
  }

  /** Parse and apply one command line (the `tsipsec xfrm ...` control command). */
  executeLine(line: string): Promise<XfrmResult> {
    return this.execute(parseXfrmLine(line));
  }

  /**
   * Apply the commands of an xfrm file in order (`--xfrm FILE`). Stops at the first failure and throws it as an
   * XfrmError located at `file:line`, whether the arguments or the data plane refused it.
   */
  async applyFile(commands: readonly XfrmFileCommand[], file: string): Promise<void> {
    for (const c of commands) {
      try {
        await this.execute(c.command);
      } catch (e) {
        if (e instanceof XfrmError) throw e.at(file, c.line);
        throw new XfrmError('', (e as Error).message, undefined, 'fix or remove the line', { file, line: c.line });
      }
    }
  }

  /** True when the SA of a `state add` would be inbound on this host (for logs). */
  isInbound(cmd: XfrmStateAdd): boolean {
    return stateIsInbound(cmd, this.options);
  }

  get stateCount(): number {
    return this.states.length;
  }

  get policyCount(): number {
    return this.policies.length;
  }

  private findState(dst: string, proto: string, spi: number): number {
    return this.states.findIndex((s) => s.dst === dst && s.proto === proto && s.spi === spi);
  }

  private stateResult(list: readonly XfrmStateAdd[], nokeys: boolean): XfrmResult {
    const entries = list.map((state) => ({ state }));
    return { text: formatStateList(entries, nokeys), json: { states: entries.map((e) => stateToJson(e, nokeys)) } };
  }
}

function changed(n: number): XfrmResult {
  return { text: '', json: { changed: n } };
}
