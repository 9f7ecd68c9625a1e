// Waits until a local port is bound (a sipp callee is listening) instead of sleeping a fixed time:
// on a busy CI box a process can take far longer than usual to open its socket.
import { readFileSync } from 'node:fs';

const LISTEN = '0A'; // TCP state LISTEN in /proc/net/tcp

function boundPorts(transport: 'udp' | 'tcp'): Set<number> {
  const ports = new Set<number>();
  for (const file of [`/proc/net/${transport}`, `/proc/net/${transport}6`]) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      if (local === undefined || (transport === 'tcp' && cols[3] !== LISTEN)) continue;
      ports.add(parseInt(local.slice(local.lastIndexOf(':') + 1), 16));
    }
  }
  return ports;
}

export async function portsBound(transport: 'udp' | 'tcp', ports: readonly number[], timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const bound = boundPorts(transport);
    if (ports.every((p) => bound.has(p))) return;
    if (Date.now() > deadline) throw new Error(`${transport} port(s) ${ports.join(', ')} never bound`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
