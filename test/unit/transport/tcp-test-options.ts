// TcpOptions for a test listener on an ephemeral 127.0.0.1 port, small limits, overridable per test.
import type { TcpOptions } from '../../../node/transport/index.js';

export const tcpTestOptions = (over: Partial<TcpOptions> = {}): TcpOptions => ({
  host: '127.0.0.1',
  port: 0,
  advertise: null,
  maxMessageSize: 4096,
  idleTimeoutMs: 30_000,
  connectTimeoutMs: 2000,
  maxWriteBufferBytes: 256 * 1024,
  ...over,
});
