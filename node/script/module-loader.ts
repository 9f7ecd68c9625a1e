// Loads a routing script as an ES module. .js/.mjs are imported directly; .ts is transpiled with
// the `typescript` package (a lazy import, so a production install running only .js scripts never
// needs it — Node 20 has no --experimental-strip-types). Each load gets a fresh module instance:
// the module loader caches by URL, so every load imports a uniquely named sibling copy (removed
// right after import), which also keeps the script's own relative imports resolving.

import { unlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

let loadCounter = 0;

export interface LoadedScriptModule {
  /** The module's `default` export, or its named `register` export. */
  readonly register: (api: unknown) => unknown;
}

export async function importScriptModule(path: string): Promise<LoadedScriptModule> {
  const n = ++loadCounter;
  const ext = extname(path);
  let code: string;
  let outExt: string;
  if (ext === '.ts' || ext === '.mts') {
    code = await transpile(path);
    outExt = '.mjs';
  } else if (ext === '.js' || ext === '.mjs') {
    code = await readFile(path, 'utf8');
    outExt = ext; // a .js keeps its package.json "type" semantics
  } else {
    throw new Error(`script ${path}: unsupported extension '${ext}' (use .js, .mjs or .ts)`);
  }
  const ns = await importCopy(path, code, outExt, n);
  const fn = typeof ns.default === 'function' ? ns.default : ns.register;
  if (typeof fn !== 'function') {
    throw new Error(`script ${path}: must export a default function (api) => void or a named 'register'`);
  }
  return { register: fn as (api: unknown) => unknown };
}

async function transpile(path: string): Promise<string> {
  const source = await readFile(path, 'utf8');
  const ts = (await import('typescript')).default;
  const out = ts.transpileModule(source, {
    fileName: path,
    reportDiagnostics: true,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      verbatimModuleSyntax: false,
      sourceMap: false,
    },
  });
  const syntaxErrors = (out.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (syntaxErrors.length > 0) {
    const msg = ts.flattenDiagnosticMessageText(syntaxErrors[0].messageText, '\n');
    throw new Error(`script ${path}: ${msg}`);
  }
  return out.outputText;
}

/** Copies being imported right now: removed even when the process exits mid-load (SIGTERM at start-up). */
const pendingCopies = new Set<string>();
let exitHookInstalled = false;
function trackCopy(target: string): void {
  pendingCopies.add(target);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const t of pendingCopies) {
      try {
        unlinkSync(t);
      } catch {
        // already gone
      }
    }
  });
}

async function importCopy(path: string, code: string, outExt: string, n: number): Promise<Record<string, unknown>> {
  // Written next to the source so the script's own relative imports of .js siblings resolve;
  // falls back to the temp dir when the script's folder is read-only.
  const name = `.${basename(path, extname(path))}.siphon-${process.pid}-${n}${outExt}`;
  let target = join(dirname(path), name);
  // Written synchronously (start-up and reloads only): an exit hook running while an async write
  // was still on the thread pool found nothing to remove, and the write then landed.
  trackCopy(target);
  try {
    writeFileSync(target, code, { mode: 0o600 });
  } catch {
    pendingCopies.delete(target);
    target = join(tmpdir(), name);
    trackCopy(target);
    writeFileSync(target, code, { mode: 0o600 });
  }
  try {
    return (await import(pathToFileURL(target).href)) as Record<string, unknown>;
  } finally {
    // Synchronously, and before it leaves pendingCopies: an exit while an async unlink was still on
    // the thread pool (SIGTERM just as loading finished) left the copy behind.
    try {
      unlinkSync(target);
    } catch {
      // already gone
    }
    pendingCopies.delete(target);
  }
}
