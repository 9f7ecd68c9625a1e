/**
 * The kernel's count of datagrams a UDP socket dropped because its receive queue was full
 * (Linux: the `drops` column of /proc/net/udp and /proc/net/udp6, by local port). Overload control
 * reads it each interval: drops are certain evidence of overload even when they happen in a pause
 * (a major GC) that no queueing-delay probe was sent during.
 */
import { readFile } from 'node:fs/promises';

/** Drops summed over the sockets bound to local `port` in one /proc/net/udp* text; null when none is listed. */
export function dropsForPort(procText: string, port: number): number | null {
  const want = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let total: number | null = null;
  for (const line of procText.split('\n')) {
    const f = line.trim().split(/\s+/);
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
    if (f.length < 13 || !f[1].endsWith(want)) continue;
    const drops = Number(f[12]);
    if (Number.isInteger(drops)) total = (total ?? 0) + drops;
  }
  return total;
}

/**
 * Current drops of the UDP sockets of one family on `port`; null where /proc is not available. Only
 * that family's table is read: it lists every UDP socket of the host, once per interval.
 */
export async function readUdpDrops(port: number, family: 'udp4' | 'udp6' = 'udp4'): Promise<number | null> {
  try {
    return dropsForPort(await readFile(family === 'udp6' ? '/proc/net/udp6' : '/proc/net/udp', 'utf8'), port);
  } catch {
    return null;
  }
}
