// The route in place while the routing script loads (a TypeScript script.path is transpiled at
// start-up, which can take seconds): requests are turned away with 503 + Retry-After (RFC 3261
// §21.5.4) rather than answered by issue 2's stateless 501, so a UA retries instead of giving up.
import { defaultRoute, type Route } from '../core/index.js';

export const startingRoute: Route = {
  starting: true, // /admin/health answers 503 "starting" until the script's route replaces this
  onRequest(ctx) {
    const method = ctx.request.method;
    if (method === 'ACK') return;
    if (method === 'OPTIONS') {
      defaultRoute.onRequest(ctx);
      return;
    }
    ctx.respond(503, 'Service Unavailable', [['Retry-After', '1']]);
  },
};
