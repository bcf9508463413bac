/**
 * Section references (strongswan.conf(5), REFERENCING OTHER SECTIONS): `conn-a : conn-defaults, eap-defaults { }`
 * inherits every key and subsection of the referenced sections, named by their absolute dotted name. The section's
 * own keys win; inherited keys follow the section's own in the order of the references; an inherited subsection of
 * the same name is merged the same way, at every depth. An own empty assignment (`key =`) hides an inherited value.
 *
 * strongSwan resolves references on lookup and ignores one that names no section; here a reference that names no
 * section is an error (it is nearly always a typo that would silently drop settings), and so is a cycle.
 */
import { ConfigError } from './config-error.js';
import type { SettingsKey, SettingsSection } from './settings-tree.js';
import { didYouMean } from './suggest.js';

/** A copy of the tree with every reference applied and `refs` empty. Throws ConfigError. */
export function resolveReferences(root: SettingsSection): SettingsSection {
  const done = new Map<string, SettingsSection>();
  const active: string[] = [];

  const lookup = (abs: string): SettingsSection | undefined => {
    let s: SettingsSection | undefined = root;
    for (const part of abs.split('.')) s = s?.sections.get(part);
    return s;
  };
  const allNames = (): string[] => {
    const out: string[] = [];
    const walk = (s: SettingsSection, prefix: string): void => {
      for (const [n, sub] of s.sections) {
        const abs = prefix === '' ? n : `${prefix}.${n}`;
        out.push(abs);
        walk(sub, abs);
      }
    };
    walk(root, '');
    return out;
  };

  const resolve = (section: SettingsSection, abs: string): SettingsSection => {
    const cached = done.get(abs);
    if (cached !== undefined) return cached;
    if (active.includes(abs)) {
      throw ConfigError.at(
        section.origin,
        `section '${abs}' inherits from itself (${[...active.slice(active.indexOf(abs)), abs].join(' -> ')})`,
        'remove one of the references',
      );
    }
    active.push(abs);
    let result: SettingsSection = {
      name: section.name,
      origin: section.origin,
      keys: new Map(section.keys),
      sections: new Map([...section.sections].map(([n, s]) => [n, resolve(s, abs === '' ? n : `${abs}.${n}`)])),
      refs: [],
    };
    for (const ref of section.refs) {
      const target = lookup(ref.name);
      if (target === undefined) {
        throw ConfigError.at(
          ref.origin,
          `section '${section.name}' references '${ref.name}', which is not defined`,
          didYouMean(ref.name, allNames()) ?? 'references use the absolute dotted name, e.g. connections.base',
        );
      }
      result = merge(result, resolve(target, ref.name));
    }
    active.pop();
    done.set(abs, result);
    return result;
  };
  return resolve(root, '');
}

/** `own` with everything from `inherited` that `own` does not define. */
function merge(own: SettingsSection, inherited: SettingsSection): SettingsSection {
  const keys = new Map<string, SettingsKey>(own.keys);
  for (const [k, v] of inherited.keys) if (!keys.has(k)) keys.set(k, v);
  const sections = new Map<string, SettingsSection>(own.sections);
  for (const [n, s] of inherited.sections) {
    const mine = sections.get(n);
    sections.set(n, mine === undefined ? s : merge(mine, s));
  }
  return { name: own.name, origin: own.origin, keys, sections, refs: [] };
}

/** Absolute names of every section some reference points to (templates that are not used on their own). */
export function referencedNames(root: SettingsSection): Set<string> {
  const out = new Set<string>();
  const walk = (s: SettingsSection): void => {
    for (const r of s.refs) out.add(r.name);
    for (const sub of s.sections.values()) walk(sub);
  };
  walk(root);
  return out;
}
