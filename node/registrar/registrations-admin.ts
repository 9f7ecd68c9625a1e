/**
 * Admin HTTP surface for registrations; the admin server mounts it under /admin/registrations:
 *   GET    /admin/registrations        → every AoR with its contacts
 *   GET    /admin/registrations/:aor   → one AoR (404 if none)
 *   DELETE /admin/registrations/:aor   → force-remove the AoR's bindings (fires `delete` hooks)
 * `:aor` is URL-encoded; `alice@example.com` without a scheme means `sip:alice@example.com`.
 */
import { remainingSeconds, type Binding } from './binding.js';
import type { Registrar } from './registrar.js';

export interface AdminResponse {
  readonly status: number;
  readonly json: unknown;
}

const PREFIX = '/admin/registrations';

function bindingJson(b: Binding, now: number): Record<string, unknown> {
  return {
    contact: b.contactUri,
    expires: remainingSeconds(b, now),
    q: b.q,
    instance: b.instance,
    reg_id: b.regId,
    outbound: b.outbound,
    path: b.path,
    flow: b.flow,
    user_agent: b.userAgent,
    call_id: b.callId,
    cseq: b.cseq,
    params: Object.fromEntries(b.params),
    registered_at: new Date(b.registeredAt).toISOString(),
    updated_at: new Date(b.updatedAt).toISOString(),
  };
}

function aorFromPath(segment: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    return null;
  }
  return /^sips?:/i.test(decoded) ? decoded : `sip:${decoded}`;
}

export async function handleRegistrationsAdmin(registrar: Registrar, method: string, path: string, now: number): Promise<AdminResponse> {
  const bare = path.split('?')[0].replace(/\/+$/, '');
  if (bare === PREFIX) {
    if (method !== 'GET') return { status: 405, json: { error: 'method not allowed' } };
    const registrations: Array<Record<string, unknown>> = [];
    for (const [aor, bindings] of registrar.store.all()) {
      const live = bindings.filter((b) => b.expiresAt > now);
      if (live.length > 0) registrations.push({ aor, contacts: live.map((b) => bindingJson(b, now)) });
    }
    return { status: 200, json: { count: registrations.length, registrations } };
  }
  if (!bare.startsWith(`${PREFIX}/`)) return { status: 404, json: { error: 'not found' } };
  const aorText = aorFromPath(bare.slice(PREFIX.length + 1));
  if (aorText === null) return { status: 400, json: { error: 'malformed AoR' } };
  if (method === 'GET') {
    const bindings = registrar.lookup(aorText, now);
    if (bindings.length === 0) return { status: 404, json: { error: 'no registrations', aor: aorText } };
    return { status: 200, json: { aor: bindings[0].aor, contacts: bindings.map((b) => bindingJson(b, now)) } };
  }
  if (method === 'DELETE') {
    const removed = await registrar.removeAor(aorText, now);
    if (removed === 0) return { status: 404, json: { error: 'no registrations', aor: aorText } };
    return { status: 200, json: { aor: aorText, removed } };
  }
  return { status: 405, json: { error: 'method not allowed' } };
}
