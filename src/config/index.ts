/** swanctl.conf support: the settings syntax, the typed model, and the loader. */
export { ConfigError, formatDiagnostic, formatOrigin, type Diagnostic, type Origin } from './config-error.js';
export { parseSettings, type IncludedFile, type ReadInclude } from './settings-parser.js';
export { resolveReferences } from './settings-references.js';
export type { SettingsKey, SettingsSection } from './settings-tree.js';
export { parseSwanctlConf, type SwanctlParseOptions } from './swanctl-conf.js';
export { loadSwanctlConf, readIncludeFromDisk, type LoadSwanctlOptions } from './load-swanctl-conf.js';
export type * from './swanctl-model.js';
