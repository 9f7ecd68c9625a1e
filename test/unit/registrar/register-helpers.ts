import {
  DEFAULT_REGISTRAR_SETTINGS,
  MemoryBindingStore,
  Registrar,
  type BindingEvent,
  type RegisterAccept,
  type RegisterDecision,
  type RegisterRequest,
  type RegistrarSettings,
} from '../../../node/registrar/index.js';

export const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);

export function req(over: Partial<RegisterRequest> = {}): RegisterRequest {
  return {
    to: '<sip:alice@example.com>',
    callId: 'call-1@ua',
    cseq: 1,
    contacts: ['<sip:alice@192.0.2.10:5060>'],
    expires: null,
    path: [],
    supported: [],
    require: [],
    userAgent: 'test-ua',
    source: { transport: 'udp', address: '192.0.2.10', port: 5060, connectionId: null, localAddress: '127.0.0.1:5060' },
    ...over,
  };
}

export function setup(settings: Partial<RegistrarSettings> = {}): {
  registrar: Registrar;
  store: MemoryBindingStore;
  events: string[];
} {
  const store = new MemoryBindingStore();
  let n = 0;
  const registrar = new Registrar(store, { ...DEFAULT_REGISTRAR_SETTINGS, ...settings }, { newToken: () => `tok${++n}` });
  const events: string[] = [];
  registrar.onChange((e: BindingEvent) => events.push(`${e.type} ${e.aor} ${e.binding.contactUri}${e.cause ? ` (${e.cause})` : ''}`));
  return { registrar, store, events };
}

export function accepted(d: RegisterDecision): RegisterAccept {
  if (d.kind !== 'accept') throw new Error(`expected 200, got ${d.status} ${d.reason}: ${d.detail}`);
  return d;
}

export function headerValues(d: RegisterDecision, name: string): string[] {
  return d.headers.filter(([n]) => n === name).map(([, v]) => v);
}
