// Owns the live routing script: the first load, hot reload on file change (`script.reload: auto`)
// or SIGHUP (`sighup`), and the atomic swap of handler sets. A reload that fails (syntax error,
// throw during register) keeps the previous handlers and logs, so a bad edit on a live node never
// leaves it without routing.

import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { createScriptApi, EMPTY_HANDLERS, type HandlerSet, type ScriptPorts } from './api.js';
import { importScriptModule } from './module-loader.js';

export type ScriptReloadMode = 'none' | 'auto' | 'sighup';

export interface ScriptHostOptions {
  readonly path: string;
  readonly reload: ScriptReloadMode;
  readonly ports: ScriptPorts;
  /** Editors write a file in several steps; changes inside this window load once. */
  readonly debounceMs?: number;
}

export class ScriptHost {
  private current: HandlerSet = EMPTY_HANDLERS;
  private gen = 0;
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly onSighup = (): void => { void this.reload(); };
  private readonly path: string;
  private readonly listeners = new Set<(gen: number, ok: boolean) => void>();

  constructor(private readonly opts: ScriptHostOptions) {
    this.path = resolve(opts.path);
  }

  /** The live handler set; read once per event so one event sees one script version. */
  get handlers(): HandlerSet {
    return this.current;
  }

  /** Number of successful loads so far. */
  get generation(): number {
    return this.gen;
  }

  /** Initial load: a broken script at start-up is a config error and rejects. Then arms reload. */
  async start(): Promise<void> {
    this.current = await this.loadOnce();
    this.gen = 1;
    if (this.opts.reload === 'auto') this.armWatcher();
    if (this.opts.reload === 'sighup') process.on('SIGHUP', this.onSighup);
  }

  /** Reloads now; resolves true when the new handlers are live, false when the old ones stay. */
  reload(): Promise<boolean> {
    const run = async (): Promise<boolean> => {
      try {
        this.current = await this.loadOnce();
        this.gen++;
        this.opts.ports.log.info({ path: this.path, generation: this.gen }, 'routing script reloaded');
        this.emit(true);
        return true;
      } catch (err) {
        this.opts.ports.log.error({ path: this.path, err: errorText(err) }, 'routing script reload failed; keeping previous handlers');
        this.emit(false);
        return false;
      }
    };
    const p = this.chain.then(run, run);
    this.chain = p;
    return p;
  }

  /** Observe reload outcomes (tests, admin API). */
  onReloaded(fn: (generation: number, ok: boolean) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.debounce) clearTimeout(this.debounce);
    process.off('SIGHUP', this.onSighup);
  }

  private async loadOnce(): Promise<HandlerSet> {
    const mod = await importScriptModule(this.path);
    const { api, seal } = createScriptApi(this.opts.ports);
    await mod.register(api);
    return seal();
  }

  private emit(ok: boolean): void {
    for (const fn of this.listeners) fn(this.gen, ok);
  }

  private armWatcher(): void {
    // Watch the folder, not the file: editors and `mv` replace the inode, which ends a file watch.
    const name = basename(this.path);
    this.watcher = watch(dirname(this.path), (_event, file) => {
      if (file !== null && file.toString() !== name) return;
      if (this.debounce) clearTimeout(this.debounce);
      this.debounce = setTimeout(() => { void this.reload(); }, this.opts.debounceMs ?? 100);
    });
    this.watcher.on('error', (err) => this.opts.ports.log.error({ err: errorText(err) }, 'script watch failed'));
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
