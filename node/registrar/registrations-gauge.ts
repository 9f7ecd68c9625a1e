/** Registrar metrics. `siphon_registrations_active`: live bindings, read from the store at scrape time. */
import { Counter, Gauge, type Registry } from 'prom-client';
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

/** `siphon_registrar_full_total`: REGISTERs refused with 503 because registrar.max_bindings was reached. */
export function createRegistrarFullCounter(registry: Registry): Counter {
  return new Counter({
    name: 'siphon_registrar_full_total',
    help: 'REGISTER requests refused with 503 because registrar.max_bindings was reached',
    registers: [registry],
  });
}
