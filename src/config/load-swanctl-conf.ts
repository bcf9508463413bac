/**
 * Read swanctl.conf from disk: includes (with wildcards) through node:fs, then a permission check.
 *
 * Secrets: strongSwan's swanctl does not check the permissions of swanctl.conf (it reads whatever it can open;
 * Debian installs /etc/swanctl/swanctl.conf 0644 with no secrets in it and the key directories 0700). This project
 * is stricter: a file that holds a secret (`secret` or `pin` in a secrets section, in the main file or an included
 * one) and is readable or writable by its group or by every user (any of mode 066) is refused, with the chmod that
 * fixes it. `allowWorldReadableSecrets` turns the refusal into a warning, for read-only files such as lab fixtures.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, diagnostic, type Diagnostic, type Origin } from './config-error.js';
import { hasWildcard, segmentRegExp } from './glob.js';
import type { IncludedFile } from './settings-parser.js';
import { parseSwanctlConf } from './swanctl-conf.js';
import type { SwanctlParseResult, ValidateProposal } from './swanctl-model.js';

export interface LoadSwanctlOptions {
  readonly validateProposal?: ValidateProposal;
  /** Warn instead of refusing when a file holding secrets is group or world readable or writable. */
  readonly allowWorldReadableSecrets?: boolean;
}

/** Mode bits: readable and writable by the group and by others. */
const S_IRGRP = 0o040;
const S_IWGRP = 0o020;
const S_IROTH = 0o004;
const S_IWOTH = 0o002;

/** Who besides the owner can read or write a file of this mode, in words; undefined when nobody. */
function exposure(mode: number): string | undefined {
  const who: string[] = [];
  if ((mode & S_IROTH) !== 0) who.push('every user can read it');
  else if ((mode & S_IRGRP) !== 0) who.push('its group can read it');
  if ((mode & S_IWOTH) !== 0) who.push('every user can write it');
  else if ((mode & S_IWGRP) !== 0) who.push('its group can write it');
  return who.length === 0 ? undefined : who.join(' and ');
}

/** Parse swanctl.conf at `file` and every file it includes. Throws ConfigError. */
export function loadSwanctlConf(file: string, options: LoadSwanctlOptions = {}): SwanctlParseResult {
  const start: Origin = { file, line: 1, column: 1 };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw ConfigError.at(start, `cannot read the configuration: ${errorText(e)}`, 'check the path and permissions');
  }
  const result = parseSwanctlConf(text, {
    filename: file,
    readInclude: readIncludeFromDisk,
    ...(options.validateProposal !== undefined ? { validateProposal: options.validateProposal } : {}),
  });
  const findings = checkSecretPermissions(result.config.secretOrigins);
  if (findings.length === 0) return result;
  if (options.allowWorldReadableSecrets !== true) throw new ConfigError(findings);
  return { config: result.config, warnings: Object.freeze([...result.warnings, ...findings]) };
}

/** One diagnostic per file that holds a secret and that others can read or write, at the first secret in it. */
export function checkSecretPermissions(secretOrigins: readonly Origin[]): Diagnostic[] {
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const o of secretOrigins) {
    if (seen.has(o.file)) continue;
    seen.add(o.file);
    let mode: number;
    try {
      mode = statSync(o.file).mode;
    } catch {
      continue;
    }
    const who = exposure(mode);
    if (who !== undefined) {
      out.push(
        diagnostic(
          o,
          `this file holds secrets but ${who} (mode ${(mode & 0o777).toString(8)})`,
          `run: chmod 600 ${o.file} (and chown it to the user the daemon runs as)`,
        ),
      );
    }
  }
  return out;
}

/** The include reader for the real file system: literal paths and shell wildcards, sorted like glob(3). */
export function readIncludeFromDisk(pattern: string): readonly IncludedFile[] {
  return expandGlob(pattern).map((p) => ({ path: p, text: readFileSync(p, 'utf8') }));
}

/** Regular files matching an absolute or relative pattern, sorted by path; [] when nothing matches. */
export function expandGlob(pattern: string): string[] {
  if (!hasWildcard(pattern)) return isFile(pattern) ? [pattern] : [];
  const absolute = path.isAbsolute(pattern);
  const segments = pattern.split('/').filter((s, i) => s !== '' || i === 0);
  let candidates = [absolute ? '/' : segments[0] === '' ? '/' : ''];
  for (const seg of absolute ? segments.slice(1) : segments) {
    const next: string[] = [];
    for (const dir of candidates) {
      if (!hasWildcard(seg)) {
        next.push(dir === '' ? seg : path.join(dir, seg));
        continue;
      }
      let entries: string[];
      try {
        entries = readdirSync(dir === '' ? '.' : dir);
      } catch {
        continue;
      }
      const re = segmentRegExp(seg);
      for (const e of entries.sort()) if (re.test(e)) next.push(dir === '' ? e : path.join(dir, e));
    }
    candidates = next;
  }
  return candidates.filter(isFile).sort();
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
