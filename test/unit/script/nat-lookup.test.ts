// nat.fix_register on the script's registrar lookup: a UDP contact registered from behind a NAT gets
// a next hop at the REGISTER's source (node/script/node-ports.ts); off by default, never through a Path.
import { DEFAULT_REGISTRAR_SETTINGS, MemoryBindingStore, Registrar, handleRegister } from '../../../node/registrar/index.js';
import { natRegisteredHop, registrarPort } from '../../../node/script/node-ports.js';
import { parseMessage, SipRequest } from '../../../node/sip/index.js';

const T0 = 1_700_000_000_000;
const natSource = { transport: 'udp', address: '203.0.113.5', port: 40000, connectionId: null, localAddress: '192.0.2.1:5060' };

function register(contact: string): SipRequest {
  const m = parseMessage(
    Buffer.from(
      'REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bKnat1\r\nMax-Forwards: 70\r\n' +
        'To: <sip:alice@example.com>\r\nFrom: <sip:alice@example.com>;tag=1\r\nCall-ID: nat-1@x\r\nCSeq: 1 REGISTER\r\n' +
        `Contact: ${contact}\r\nContent-Length: 0\r\n\r\n`,
    ),
  );
  if (!(m instanceof SipRequest)) throw new Error('not a request');
  return m;
}

test('off by default: the contact as written; on: the source the REGISTER came from, the contact still the URI', async () => {
  const registrar = new Registrar(new MemoryBindingStore(), DEFAULT_REGISTRAR_SETTINGS);
  const r = await handleRegister(registrar, register('<sip:alice@192.168.1.10:5060>'), natSource, T0, { auth: null });
  expect(r.response.status).toBe(200);
  const [plain] = await registrarPort(registrar, () => T0).lookup('sip:alice@example.com');
  expect(plain.uri).toBe('sip:alice@192.168.1.10:5060');
  expect(plain.nextHop).toBeUndefined();
  const [fixed] = await registrarPort(registrar, () => T0, { fixRegister: true }).lookup('sip:alice@example.com');
  expect(fixed.uri).toBe('sip:alice@192.168.1.10:5060');
  expect(fixed.nextHop).toEqual({ transport: 'UDP', host: '203.0.113.5', port: 40000 });
});

test('a binding registered through an edge proxy (Path) is reached through it, never at the source', () => {
  expect(natRegisteredHop({ uri: 'sip:alice@192.168.1.10', route: ['<sip:edge.example.com;lr>'], flow: natSource })).toBeUndefined();
  expect(natRegisteredHop({ uri: 'sip:alice@192.168.1.10', route: [], flow: natSource })).toEqual({ transport: 'UDP', host: '203.0.113.5', port: 40000 });
});
