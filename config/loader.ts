/**
 * Reads YAML, applies `--set key.path=value` overrides, and decodes through the schema. Every
 * failure is a ConfigError naming the file (or `--set`), the key path and the reason.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join as joinPath, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { ConfigError, ConfigIssue } from './config-error.js';
import { isMapping } from './fields.js';
import { configSchema, type SiphonConfig } from './schema.js';

export interface LoadOptions {
  /** Config file; the embedded `config/default.yaml` when absent. */
  readonly file?: string | null;
  /** `key.path=value` overrides; values are YAML scalars/flow collections (`[a, b]`, `true`, `5`). */
  readonly sets?: readonly string[];
}

export interface LoadedConfig {
  readonly config: SiphonConfig;
  readonly file: string;
}

/** Finds `config/default.yaml` by walking up from this module (works from sources and from dist/). */
export function defaultConfigPath(): string {
  let dir = dirname(dirname(fileURLToPath(import.meta.url)));
  for (let i = 0; i < 4; i++) {
    const candidate = joinPath(dir, 'config', 'default.yaml');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new ConfigError('config/default.yaml', '', 'embedded default config not found');
}

function readYaml(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, '', `cannot read file: ${(err as Error).message}`);
  }
  try {
    return parseYaml(text) ?? {};
  } catch (err) {
    if (err instanceof YAMLParseError) throw new ConfigError(file, '', `YAML syntax error: ${err.message}`);
    throw err;
  }
}

interface Override {
  readonly path: string;
  readonly value: unknown;
}

export function parseOverride(text: string): Override {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new ConfigError('--set', text, 'expected key.path=value');
  const path = text.slice(0, eq).trim();
  if (!/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/.test(path)) throw new ConfigError('--set', path, 'malformed key path');
  const rawValue = text.slice(eq + 1);
  let value: unknown;
  try {
    value = rawValue === '' ? '' : parseYaml(rawValue);
  } catch {
    value = rawValue; // not valid YAML: take it as a plain string
  }
  return { path, value };
}

function applyOverride(doc: Record<string, unknown>, o: Override): void {
  const keys = o.path.split('.');
  let node: Record<string, unknown> = doc;
  for (let i = 0; i < keys.length - 1; i++) {
    const next = node[keys[i]];
    if (next === undefined || next === null) {
      const created: Record<string, unknown> = {};
      node[keys[i]] = created;
      node = created;
    } else if (isMapping(next)) {
      node = next;
    } else {
      throw new ConfigError('--set', keys.slice(0, i + 1).join('.'), 'is not a mapping, cannot set a key under it');
    }
  }
  node[keys[keys.length - 1]] = o.value;
}

/** Decodes an already-parsed document (used by the loader and by tests). */
export function decodeConfig(doc: unknown, file: string, overridePaths: readonly string[] = []): SiphonConfig {
  try {
    return configSchema.decode(doc, '');
  } catch (err) {
    if (err instanceof ConfigIssue) {
      const fromSet = overridePaths.some((p) => err.keyPath === p || err.keyPath.startsWith(`${p}.`) || err.keyPath.startsWith(`${p}[`));
      throw new ConfigError(fromSet ? '--set' : file, err.keyPath, err.reason);
    }
    throw err;
  }
}

export function loadConfig(opts: LoadOptions = {}): LoadedConfig {
  const file = resolve(opts.file ?? defaultConfigPath());
  const doc = readYaml(file);
  if (!isMapping(doc)) throw new ConfigError(file, '', 'top level must be a mapping');
  const overrides = (opts.sets ?? []).map(parseOverride);
  for (const o of overrides) applyOverride(doc, o);
  return { config: decodeConfig(doc, file, overrides.map((o) => o.path)), file };
}
