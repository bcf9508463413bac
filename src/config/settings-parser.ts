/**
 * Parser for strongSwan's settings syntax (strongswan.conf(5), the format swanctl.conf(5) uses):
 *
 *     settings := (section | keyvalue | include)*
 *     section  := name [":" absname ("," absname)*] "{" settings "}"
 *     keyvalue := key "=" value
 *
 * Merging follows strongSwan: a section opened twice (in one file or across includes) extends the first one, a key
 * assigned twice keeps its first position and takes the last value. `include` adds the files' settings to the
 * section the statement is in; relative patterns are relative to the including file's directory; wildcards expand
 * in sorted order, and a pattern matching nothing is skipped with a warning (strongSwan logs and goes on).
 * Section references are kept here and resolved by `resolveReferences` (settings-references.ts).
 */
import path from 'node:path';
import { ConfigError, diagnostic, type Diagnostic, type Origin } from './config-error.js';
import { tokenize, type Token } from './settings-lexer.js';
import { newSection, type MutableSection, type SettingsSection } from './settings-tree.js';
import { hasWildcard } from './glob.js';

/** A file an include pattern matched, with its text. */
export interface IncludedFile {
  readonly path: string;
  readonly text: string;
}

/**
 * Expand an include pattern (already made absolute or relative to the including file's directory) to the files it
 * matches, sorted by path; [] when nothing matches. May throw; errors are reported at the include statement.
 */
export type ReadInclude = (pattern: string) => readonly IncludedFile[];

export interface SettingsParseOptions {
  readonly filename: string;
  /** Without it, any `include` is an error. */
  readonly readInclude?: ReadInclude;
}

export interface SettingsParseResult {
  readonly root: SettingsSection;
  readonly warnings: readonly Diagnostic[];
  /** Every file that was read, the main one first. */
  readonly files: readonly string[];
}

/** Deepest section nesting accepted (swanctl.conf needs 4 levels); keeps hostile input from exhausting the stack. */
export const MAX_SECTION_DEPTH = 64;

/** Deepest include nesting accepted; deeper is reported as a probable loop. */
export const MAX_INCLUDE_DEPTH = 32;

/** Parse settings text (and the files it includes) into one merged tree. Throws ConfigError. */
export function parseSettings(text: string, options: SettingsParseOptions): SettingsParseResult {
  const root = newSection('', { file: options.filename, line: 1, column: 1 });
  const warnings: Diagnostic[] = [];
  const files: string[] = [options.filename];

  const parseFile = (
    fileText: string,
    file: string,
    target: MutableSection,
    chain: readonly string[],
    sectionDepth: number,
  ): void => {
    const tokens = tokenize(fileText, file);
    let i = 0;
    const endOrigin = (): Origin => {
      const lines = fileText.split('\n');
      return { file, line: lines.length, column: (lines[lines.length - 1] ?? '').length + 1 };
    };
    const describe = (t: Token | undefined): string => {
      if (t === undefined) return 'end of file';
      if (t.kind === 'name' || t.kind === 'ref') return `'${t.text}'`;
      if (t.kind === 'include') return "'include'";
      return `'${t.kind}'`;
    };

    const statements = (section: MutableSection, opener: Origin | undefined, depth: number): void => {
      for (;;) {
        const t = tokens[i];
        if (t === undefined) {
          if (opener !== undefined) {
            throw ConfigError.at(
              opener,
              `section '${section.name}' is not closed`,
              `add '}' before the end of ${path.basename(file)}`,
            );
          }
          return;
        }
        if (t.kind === '}') {
          if (opener === undefined) {
            throw ConfigError.at(t.origin, "unexpected '}'", 'remove it, or open a section with name { before it');
          }
          i++;
          return;
        }
        if (t.kind === 'include') {
          i++;
          include(t.pattern, t.origin, section, depth);
          continue;
        }
        if (t.kind !== 'name') {
          throw ConfigError.at(
            t.origin,
            `unexpected ${describe(t)}`,
            'expected a key (key = value), a section (name { ... }) or include',
          );
        }
        i++;
        const next = tokens[i];
        if (next?.kind === '=') {
          i++;
          // A repeated key keeps its first place and takes the new value (Map.set on an existing key does that).
          section.keys.set(t.text, {
            name: t.text,
            value: next.value,
            origin: t.origin,
            valueOrigin: next.valueOrigin,
          });
          continue;
        }
        if (next?.kind === '{' || next?.kind === ':') {
          const refs: { name: string; origin: Origin }[] = [];
          if (next.kind === ':') {
            i++;
            for (;;) {
              const r = tokens[i];
              if (r?.kind !== 'ref') {
                throw ConfigError.at(
                  r?.origin ?? endOrigin(),
                  `expected a section name after ${refs.length === 0 ? "':'" : "','"}, found ${describe(r)}`,
                  'write name : other-section[, more.sections] { ... }',
                );
              }
              refs.push({ name: r.text, origin: r.origin });
              i++;
              if (tokens[i]?.kind === ',') {
                i++;
                continue;
              }
              break;
            }
            if (tokens[i]?.kind !== '{') {
              throw ConfigError.at(
                tokens[i]?.origin ?? endOrigin(),
                `expected '{' after the references of section '${t.text}', found ${describe(tokens[i])}`,
                'separate references with commas and open the section with {',
              );
            }
          }
          i++;
          let sub = section.sections.get(t.text);
          if (sub === undefined) {
            sub = newSection(t.text, t.origin);
            section.sections.set(t.text, sub);
          }
          for (const r of refs) if (!sub.refs.some((x) => x.name === r.name)) sub.refs.push(r);
          if (depth + 1 > MAX_SECTION_DEPTH) {
            throw ConfigError.at(
              t.origin,
              `sections nested deeper than ${MAX_SECTION_DEPTH} levels`,
              'check for missing }',
            );
          }
          statements(sub, t.origin, depth + 1);
          continue;
        }
        if (next?.kind === '.' || next?.kind === ',') {
          throw ConfigError.at(
            next.origin,
            `'${next.kind}' is not allowed in the name '${t.text}${next.kind}...'`,
            "names may not contain . , : { } = \" # or spaces; nest sections instead of writing 'a.b = c'",
          );
        }
        throw ConfigError.at(
          next?.origin ?? endOrigin(),
          `expected '=' or '{' after '${t.text}', found ${describe(next)}`,
          `write ${t.text} = value, or ${t.text} { ... }`,
        );
      }
    };

    const include = (pattern: string, origin: Origin, section: MutableSection, depth: number): void => {
      const resolved = path.isAbsolute(pattern) ? pattern : path.join(path.dirname(file), pattern);
      if (options.readInclude === undefined) {
        throw ConfigError.at(origin, `cannot include '${pattern}' here`, 'includes need a file system to read from');
      }
      if (chain.length >= MAX_INCLUDE_DEPTH) {
        throw ConfigError.at(origin, `includes nested deeper than ${MAX_INCLUDE_DEPTH} levels`, 'check for a loop');
      }
      let matched: readonly IncludedFile[];
      try {
        matched = options.readInclude(resolved);
      } catch (e) {
        if (e instanceof ConfigError) throw e;
        const why = e instanceof Error ? e.message : String(e);
        throw ConfigError.at(origin, `cannot read include '${resolved}': ${why}`, 'check the path and permissions');
      }
      if (matched.length === 0) {
        warnings.push(
          diagnostic(
            origin,
            hasWildcard(pattern) ? `no files match include '${resolved}'` : `include file '${resolved}' not found`,
            'strongSwan skips it too; fix the path if the file is needed',
          ),
        );
        return;
      }
      for (const f of matched) {
        if (chain.includes(f.path)) {
          throw ConfigError.at(origin, `include loop: '${f.path}' includes itself`, 'remove the include');
        }
        if (!files.includes(f.path)) files.push(f.path);
        parseFile(f.text, f.path, section, [...chain, f.path], depth);
      }
    };

    statements(target, undefined, sectionDepth);
  };

  parseFile(text, options.filename, root, [options.filename], 0);
  return { root, warnings, files };
}
