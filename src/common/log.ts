/**
 * Logging with strongSwan's subsystems and levels, so operators read our logs the way they read charon's:
 *   -1 silent, 0 audit, 1 control (default), 2 detailed, 3 raw data, 4 private (key material).
 * The sans-I/O core only sees the `Logger` interface; the daemon decides where lines go.
 */

export const LogLevel = {
  SILENT: -1,
  AUDIT: 0,
  CONTROL: 1,
  DETAIL: 2,
  RAW: 3,
  PRIVATE: 4,
} as const;
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

/** Subsystems, strongSwan's three-letter names: daemon, IKE, CHILD_SA, encoding, ESP/AH, network, config, kernel boundary. */
export const LOG_SUBSYSTEMS = ['dmn', 'ike', 'chd', 'enc', 'esp', 'net', 'cfg', 'knl', 'lib'] as const;
export type LogSubsystem = (typeof LOG_SUBSYSTEMS)[number];

export interface Logger {
  /** True when a line of this subsystem and level would be written (to skip building expensive messages). */
  enabled(subsystem: LogSubsystem, level: LogLevel): boolean;
  /** One log line. `sa` is the SA's short id (e.g. `lab[3]` or `net{7}`) when the line concerns one. */
  log(subsystem: LogSubsystem, level: LogLevel, message: string, sa?: string): void;
}

/** A logger that drops everything (library default). */
export const nullLogger: Logger = {
  enabled: () => false,
  log: () => undefined,
};

export interface LineLoggerOptions {
  /** Default level for every subsystem. */
  level: number;
  /** Per-subsystem overrides. */
  levels?: Partial<Record<LogSubsystem, number>>;
  /** Where finished lines go (stderr in the daemon, an array in tests). */
  write: (line: string) => void;
  /** Wall clock for the time stamp; omitted in tests for stable output. */
  now?: () => Date;
}

/** Formats `HH:MM:SS 01[IKE] <lab[3]> message` like charon's file logger. */
export function createLineLogger(options: LineLoggerOptions): Logger {
  const levelOf = (s: LogSubsystem): number => options.levels?.[s] ?? options.level;
  return {
    enabled: (subsystem, level) => level <= levelOf(subsystem),
    log(subsystem, level, message, sa) {
      if (level > levelOf(subsystem)) return;
      const stamp = options.now ? `${options.now().toISOString().slice(11, 19)} ` : '';
      const who = sa === undefined ? '' : `<${sa}> `;
      options.write(
        `${stamp}${String(Math.max(level, 0)).padStart(2, '0')}[${subsystem.toUpperCase()}] ${who}${message}`,
      );
    },
  };
}
