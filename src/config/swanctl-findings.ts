/** Collects errors and warnings while building the model, and the shared key/value checks. */
import { diagnostic, type Diagnostic, type Origin } from './config-error.js';
import type { SettingsKey, SettingsSection } from './settings-tree.js';
import { didYouMean } from './suggest.js';
import { ValueError, splitList } from './values.js';
import type { KeyRule } from './swanctl-keys.js';
import type { ProposalText, ValidateProposal } from './swanctl-model.js';

export class Findings {
  readonly errors: Diagnostic[] = [];
  readonly warnings: Diagnostic[] = [];
  private readonly validateProposal: ValidateProposal | undefined;
  constructor(validateProposal: ValidateProposal | undefined) {
    this.validateProposal = validateProposal;
  }

  error(origin: Origin, message: string, hint?: string): void {
    this.errors.push(diagnostic(origin, message, hint));
  }

  warn(origin: Origin, message: string, hint?: string): void {
    this.warnings.push(diagnostic(origin, message, hint));
  }

  /** Unknown keys are errors with the nearest known key; known ones follow their rule (swanctl-keys.ts). */
  checkKeys(s: SettingsSection, table: Readonly<Record<string, KeyRule>>, where: string): void {
    for (const key of s.keys.values()) {
      const rule = table[key.name];
      if (rule === undefined) {
        this.error(
          key.origin,
          `unknown key '${key.name}' in ${where}`,
          didYouMean(key.name, Object.keys(table)) ?? 'see man swanctl.conf for the keys allowed here',
        );
        continue;
      }
      if (key.value === null) continue;
      this.applyRule(key, rule, where);
    }
  }

  private applyRule(key: SettingsKey, rule: KeyRule, where: string): void {
    switch (rule.status) {
      case 'supported':
        return;
      case 'kept':
        this.warn(key.origin, `'${key.name}' in ${where} is kept but not used yet: ${rule.why}`);
        return;
      case 'ignored':
        this.warn(key.origin, `'${key.name}' in ${where} is ignored: ${rule.why}`);
        return;
      case 'defaultOnly':
        if (rule.isDefault(key.value as string)) {
          this.warn(key.origin, `'${key.name}' in ${where} is ignored: ${rule.why}`);
        } else {
          this.error(
            key.origin,
            `'${key.name} = ${key.value as string}' is not supported: ${rule.why}`,
            'remove the key or set it to its default',
          );
        }
        return;
      case 'refused':
        this.error(key.origin, `'${key.name}' is not supported: ${rule.why}`, 'remove the key');
        return;
    }
  }

  /** Parse a key's value; undefined when absent, cleared, or wrong (the error is recorded at the value). */
  read<T>(s: SettingsSection, key: string, parse: (v: string) => T): T | undefined {
    const k = s.keys.get(key);
    if (k === undefined || k.value === null) return undefined;
    try {
      return parse(k.value);
    } catch (e) {
      if (!(e instanceof ValueError)) throw e;
      this.error(k.valueOrigin, `${key}: ${e.message}`, e.hint);
      return undefined;
    }
  }

  /** A proposal list; each item except `default` goes through the hook, whose message is reported at the value. */
  proposals(s: SettingsSection, key: string, kind: 'ike' | 'esp' | 'ah'): ProposalText[] | undefined {
    const k = s.keys.get(key);
    if (k === undefined || k.value === null) return undefined;
    const items = splitList(k.value);
    if (items.length === 0) {
      this.error(k.valueOrigin, `${key} is empty`, `write proposals separated by commas, or remove the key`);
      return undefined;
    }
    for (const p of items) {
      // `default` is strongSwan's keyword for its default proposal set (swanctl.conf(5)), not a proposal to check.
      if (p.toLowerCase() === 'default') continue;
      const problem = this.validateProposal?.(p, kind);
      if (problem !== undefined) this.error(k.valueOrigin, `${key}: '${p}': ${problem}`, 'see man swanctl.conf');
    }
    return items.map((text) => ({ text, origin: k.valueOrigin }));
  }
}

/** Origins of the keys set in a section, by key name. */
export function keyOriginsOf(keys: ReadonlyMap<string, SettingsKey>): Record<string, Origin> {
  const out: Record<string, Origin> = {};
  for (const [name, k] of keys) if (k.value !== null) out[name] = k.origin;
  return out;
}
