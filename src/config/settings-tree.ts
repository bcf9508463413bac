/** The parsed form of a strongSwan settings file: sections holding keys and subsections, with origins. */
import type { Origin } from './config-error.js';

/** One `key = value`. `value` is null after an empty assignment (`key =`), which restores the default. */
export interface SettingsKey {
  readonly name: string;
  readonly value: string | null;
  /** Where the key was (last) assigned. */
  readonly origin: Origin;
  /** Where its value starts, for errors about the value. */
  readonly valueOrigin: Origin;
}

/** A section reference `name : a, b.c { ... }` (strongswan.conf(5), REFERENCING OTHER SECTIONS). */
export interface SettingsRef {
  readonly name: string;
  readonly origin: Origin;
}

export interface SettingsSection {
  readonly name: string;
  /** Where the section was first opened. */
  readonly origin: Origin;
  /** Keys in the order they first appeared; a later assignment replaces the value and origin in place. */
  readonly keys: ReadonlyMap<string, SettingsKey>;
  /** Subsections in the order they first appeared; a repeated section extends the first one. */
  readonly sections: ReadonlyMap<string, SettingsSection>;
  readonly refs: readonly SettingsRef[];
}

/** Mutable twin used while parsing. */
export interface MutableSection {
  name: string;
  origin: Origin;
  keys: Map<string, SettingsKey>;
  sections: Map<string, MutableSection>;
  refs: SettingsRef[];
}

export function newSection(name: string, origin: Origin): MutableSection {
  return { name, origin, keys: new Map(), sections: new Map(), refs: [] };
}

/** The value of a key, or undefined when absent or cleared. */
export function valueOf(section: SettingsSection, key: string): string | undefined {
  const k = section.keys.get(key);
  return k === undefined || k.value === null ? undefined : k.value;
}
