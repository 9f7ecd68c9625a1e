/**
 * A minimal method+path router for the admin API. Other modules mount their routes
 * (`/admin/registrations/:aor`, `/admin/cluster`, …) through `AdminRouter.add`.
 */
export interface AdminRequest {
  readonly method: string;
  readonly path: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** Request body as text (bounded by the server). */
  readonly body: string;
}

export interface AdminResponse {
  readonly status: number;
  /** Objects are sent as JSON; strings as-is with `contentType` (default text/plain). */
  readonly body: unknown;
  readonly contentType?: string;
}

export type AdminHandler = (req: AdminRequest) => AdminResponse | Promise<AdminResponse>;

interface Route {
  readonly method: string;
  readonly segments: readonly string[];
  readonly handler: AdminHandler;
}

export interface RouteMatch {
  readonly handler: AdminHandler;
  readonly params: Record<string, string>;
}

function split(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

export class AdminRouter {
  private readonly routes: Route[] = [];

  /** `pattern` segments starting with `:` capture (URI-decoded) path segments. */
  add(method: string, pattern: string, handler: AdminHandler): this {
    this.routes.push({ method: method.toUpperCase(), segments: split(pattern), handler });
    return this;
  }

  get(pattern: string, handler: AdminHandler): this {
    return this.add('GET', pattern, handler);
  }

  delete(pattern: string, handler: AdminHandler): this {
    return this.add('DELETE', pattern, handler);
  }

  /** `'method'` when the path exists under another method (→ 405), null when nothing matches (→ 404). */
  match(method: string, path: string): RouteMatch | 'method' | null {
    const parts = split(path);
    let pathMatched = false;
    for (const route of this.routes) {
      if (route.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < parts.length && ok; i++) {
        const seg = route.segments[i];
        if (seg.startsWith(':')) {
          try {
            params[seg.slice(1)] = decodeURIComponent(parts[i]);
          } catch {
            ok = false;
          }
        } else ok = seg === parts[i];
      }
      if (!ok) continue;
      if (route.method !== method.toUpperCase()) {
        pathMatched = true;
        continue;
      }
      return { handler: route.handler, params };
    }
    return pathMatched ? 'method' : null;
  }
}
