// Where the shipped default routing script lives (scripts/default.ts at the repo root, loaded
// through node/script's module loader), and the digest-auth gate the node puts in front of any
// script when `auth` is configured: REGISTER → 401, other initial requests → 407 (RFC 3261 §22).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type defaultScript from '../../scripts/default.js';
import type { AuthPort, HandlerSet, RequestHandler } from '../script/index.js';
import { parseUri } from '../sip/index.js';

// Importing the script's type makes tsc compile it with the node (dist/scripts/default.js), so a
// built node loads plain JS at start-up instead of transpiling TypeScript (seconds on a busy box);
// it also checks at build time that the shipped script fits the script API.
export type DefaultScript = typeof defaultScript;

/**
 * Nearest ancestor with `scripts/default.js` or `scripts/default.ts`: from dist/node/app that is
 * the compiled dist/scripts/default.js; from the sources (tests) the .ts.
 */
export function defaultScriptPath(from: string = fileURLToPath(import.meta.url)): string | null {
  let dir = dirname(from);
  for (;;) {
    for (const name of ['default.js', 'default.ts']) {
      const candidate = join(dir, 'scripts', name);
      if (existsSync(candidate)) return candidate;
    }
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/** Requests that never carry credentials: ACK/CANCEL cannot be challenged (§22.1), in-dialog ones were. */
function exempt(method: string, inDialog: boolean): boolean {
  return method === 'ACK' || method === 'CANCEL' || inDialog;
}

/** The user part of a SIP URI ('' when it has none or does not parse). */
function userPart(uri: string): string {
  try {
    return parseUri(uri).user ?? '';
  } catch {
    return '';
  }
}

/** An onRequest handler that challenges requests without valid credentials. */
export function digestGate(auth: AuthPort): RequestHandler {
  return async (request) => {
    if (exempt(request.method, request.inDialog)) return;
    // Keepalive OPTIONS to the node itself stay unauthenticated, as Kamailio's REQINIT answers
    // them: only a Request-URI without a user part ($rU == $null). An OPTIONS naming a user is a
    // request to that user like any other; answering it unchallenged would tell a scanner
    // (sipvicious svwar -m OPTIONS) which users are registered.
    if (request.method === 'OPTIONS' && request.ruriIsLocal && userPart(request.ruri) === '') return;
    await auth.requireDigest(request);
  };
}

/**
 * The live handlers with the node's own handlers (the digest gate, GRUU targeting) first, in
 * order; rebuilt only when the script's handler set changes.
 */
export function gatedHandlers(gate: RequestHandler | readonly RequestHandler[] | null, current: () => HandlerSet): () => HandlerSet {
  const first: readonly RequestHandler[] = gate === null ? [] : typeof gate === 'function' ? [gate] : gate;
  if (first.length === 0) return current;
  let seen: HandlerSet | undefined;
  let composed: HandlerSet | undefined;
  return () => {
    const now = current();
    if (now !== seen || composed === undefined) {
      seen = now;
      composed = Object.freeze({ ...now, onRequest: Object.freeze([...first, ...now.onRequest]) });
    }
    return composed;
  };
}
