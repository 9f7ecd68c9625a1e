// `siphon_dialogs_active`: read from the tracker at scrape time, so the hot path never touches
// prom-client.
import { Gauge, type Registry } from 'prom-client';
import type { DialogTracker } from './dialog-tracker.js';

export function registerDialogsActiveGauge(tracker: DialogTracker, registry: Registry): Gauge {
  return new Gauge({
    name: 'siphon_dialogs_active',
    help: 'Confirmed INVITE dialogs seen by the proxy (2xx to INVITE with a To tag, not yet ended by BYE or idle timeout)',
    registers: [registry],
    collect() {
      this.set(tracker.active);
    },
  });
}
