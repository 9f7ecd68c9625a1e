/** `siphon_registrations_active`: live bindings, read from the store at scrape time. */
import { Gauge, type Registry } from 'prom-client';
import type { BindingStore } from './binding-store.js';

export function createRegistrationsGauge(store: Pick<BindingStore, 'count'>, registry: Registry): Gauge {
  return new Gauge({
    name: 'siphon_registrations_active',
    help: 'Registered contact bindings currently held by the registrar',
    registers: [registry],
    collect() {
      this.set(store.count());
    },
  });
}
