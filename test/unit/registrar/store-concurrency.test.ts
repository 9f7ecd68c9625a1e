import {
  MemoryBindingStore,
  Registrar,
  DEFAULT_REGISTRAR_SETTINGS,
  StaleBindingsError,
  type Binding,
  type BindingChange,
  type ExpectedVersion,
} from '../../../node/registrar/index.js';
import { accepted, headerValues, req, T0 } from './register-helpers.js';

function foreignBinding(uri: string): Binding {
  return {
    aor: 'sip:alice@example.com',
    key: `uri:${uri}:;`,
    contactUri: uri,
    params: [],
    q: null,
    expires: 600,
    expiresAt: T0 + 600_000,
    callId: 'other-node',
    cseq: 1,
    instance: null,
    regId: null,
    outbound: false,
    path: [],
    flow: null,
    userAgent: null,
    registeredAt: T0,
    updatedAt: T0,
    tempGruus: [],
  };
}

/** Simulates another node committing a change to the AoR between our lookup and our apply. */
class RacyStore extends MemoryBindingStore {
  races: number;
  constructor(races: number) {
    super();
    this.races = races;
  }
  override async apply(changes: readonly BindingChange[], now: number, expect?: ExpectedVersion): Promise<void> {
    if (this.races > 0 && expect !== undefined) {
      this.races--;
      this.applySync([{ op: 'insert', binding: foreignBinding(`sip:other${this.races}@198.51.100.1`) }]);
    }
    return super.apply(changes, now, expect);
  }
}

test('versions count changes per AoR and reset when the AoR empties', async () => {
  const store = new MemoryBindingStore();
  expect(store.version('sip:alice@example.com')).toBe(0);
  await store.apply([{ op: 'insert', binding: foreignBinding('sip:a@192.0.2.1') }], T0);
  await store.apply([{ op: 'refresh', binding: foreignBinding('sip:a@192.0.2.1') }], T0);
  expect(store.version('sip:alice@example.com')).toBe(2);
  await expect(
    store.apply([{ op: 'delete', aor: 'sip:alice@example.com', key: 'uri:sip:a@192.0.2.1:;', cause: 'admin' }], T0, { aor: 'sip:alice@example.com', version: 1 }),
  ).rejects.toBeInstanceOf(StaleBindingsError);
  await store.apply([{ op: 'delete', aor: 'sip:alice@example.com', key: 'uri:sip:a@192.0.2.1:;', cause: 'admin' }], T0, { aor: 'sip:alice@example.com', version: 2 });
  expect(store.version('sip:alice@example.com')).toBe(0);
});

test('a decision made on a stale view is re-made on the fresh state', async () => {
  const store = new RacyStore(1);
  const registrar = new Registrar(store, { ...DEFAULT_REGISTRAR_SETTINGS, maxContacts: 2 });
  const d = accepted(await registrar.register(req(), T0, null));
  expect(store.count()).toBe(2);
  expect(headerValues(d, 'Contact')).toHaveLength(2);
});

test('the re-decision applies max_contacts to the fresh state', async () => {
  const store = new RacyStore(1);
  const registrar = new Registrar(store, { ...DEFAULT_REGISTRAR_SETTINGS, maxContacts: 1 });
  const d = await registrar.register(req(), T0, null);
  expect(d).toMatchObject({ kind: 'reject', status: 503 });
  expect(store.count()).toBe(1);
});

test('endless contention gives up after bounded retries', async () => {
  const store = new RacyStore(100);
  const registrar = new Registrar(store, { ...DEFAULT_REGISTRAR_SETTINGS, maxContacts: 0 });
  await expect(registrar.register(req(), T0, null)).rejects.toBeInstanceOf(StaleBindingsError);
  expect(store.races).toBe(97);
});
