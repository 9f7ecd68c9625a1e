// Mounts node/registrar's admin handler on the node's admin router:
//   GET /admin/registrations, GET /admin/registrations/:aor, DELETE /admin/registrations/:aor
import { handleRegistrationsAdmin, type Registrar } from '../registrar/index.js';

/** The slice of node/admin's AdminRouter used here. */
export interface RouteMount {
  add(
    method: string,
    pattern: string,
    handler: (req: { readonly method: string; readonly path: string }) => Promise<{ status: number; body: unknown }>,
  ): unknown;
}

export function mountRegistrationsAdmin(router: RouteMount, registrar: Registrar, wallClock: () => number): void {
  const handler = async (req: { readonly method: string; readonly path: string }) => {
    const res = await handleRegistrationsAdmin(registrar, req.method, req.path, wallClock());
    return { status: res.status, body: res.json };
  };
  router.add('GET', '/admin/registrations', handler);
  router.add('GET', '/admin/registrations/:aor', handler);
  router.add('DELETE', '/admin/registrations/:aor', handler);
}
