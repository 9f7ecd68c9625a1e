/**
 * GRUUs (RFC 5627). Public GRUU: the AoR plus `gr=<instance urn>` (§3.1). Temporary GRUU: an
 * unguessable `sip:tgruu.<token>@<domain>;gr` minted on every registration or refresh of an
 * instance (§5.3); each stays valid while the binding lives. The registrar keeps the last
 * MAX_TEMP_GRUUS per binding to bound memory; older ones stop resolving.
 */
import { parseSipUri, aorOfParts } from './aor.js';

export const MAX_TEMP_GRUUS = 16;

/** `<urn:uuid:…>` → `sip:alice@example.com;gr=urn:uuid:…`. */
export function publicGruu(aor: string, instance: string): string {
  return `${aor};gr=${instance.replace(/^<|>$/g, '')}`;
}

export function tempGruu(aor: string, token: string): string {
  const host = parseSipUri(aor)?.host ?? 'invalid';
  const scheme = aor.startsWith('sips:') ? 'sips' : 'sip';
  return `${scheme}:tgruu.${token}@${host};gr`;
}

export type GruuRef =
  | { readonly kind: 'public'; readonly aor: string; readonly instance: string }
  | { readonly kind: 'temporary'; readonly canonical: string }
  | { readonly kind: 'none' };

/** Classifies a target URI: public GRUU, temporary GRUU, or an ordinary AoR. */
export function classifyGruu(uri: string): GruuRef {
  const p = parseSipUri(uri);
  if (p === null) return { kind: 'none' };
  const gr = p.params.find(([n]) => n === 'gr');
  if (gr === undefined) return { kind: 'none' };
  if (gr[1] !== null && gr[1] !== '') return { kind: 'public', aor: aorOfParts(p), instance: `<${gr[1]}>` };
  return { kind: 'temporary', canonical: aorOfParts(p) };
}

/** Index key for a temp GRUU (`sip:tgruu.x@host;gr` → `sip:tgruu.x@host`). */
export function tempGruuKey(gruu: string): string {
  const p = parseSipUri(gruu);
  return p === null ? gruu : aorOfParts(p);
}
