/**
 * `metrics.prometheus`: `true` serves /metrics on the admin listener, `false` disables it, and
 * `{listen: "ip:port"}` serves it on its own listener.
 */
import { bool, either, obj } from '../fields.js';
import { bindAddress } from '../host-port.js';

export const metricsSection = obj({
  prometheus: either(bool(), (raw) => typeof raw === 'boolean', obj({ listen: bindAddress() }), true),
});
