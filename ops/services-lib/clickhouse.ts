import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePorts } from './ports.js';
import { isAlive, spawnDetached, stopPid, waitUntil } from './processes.js';

export interface ClickHouseServer {
  readonly dir: string;
  readonly httpPort: number;
  readonly tcpPort: number;
  readonly pid: number;
  readonly version: string;
}

const CLICKHOUSE_BIN = process.env.SIPHON_CLICKHOUSE_BIN ?? '/usr/sbin/clickhouse-server';

/** Standalone config: 127.0.0.1 only, every path inside `dir`, no interserver port. */
function configXml(dir: string, httpPort: number, tcpPort: number): string {
  return `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${dir}/log/server.log</log><errorlog>${dir}/log/server.err.log</errorlog><size>100M</size><count>2</count></logger>
  <listen_host>127.0.0.1</listen_host><http_port>${httpPort}</http_port><tcp_port>${tcpPort}</tcp_port>
  <path>${dir}/data/</path><tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path><format_schema_path>${dir}/format_schemas/</format_schema_path>
  <mark_cache_size>268435456</mark_cache_size><timezone>UTC</timezone>
  <users_config>users.xml</users_config><default_profile>default</default_profile><default_database>default</default_database>
</yandex>
`;
}

const USERS_XML = `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`;

export async function startClickHouse(dir: string, ports?: { http: number; tcp: number }, timeoutMs = 60_000): Promise<ClickHouseServer> {
  const [httpPort, tcpPort] = ports ? [ports.http, ports.tcp] : await freePorts(2);
  for (const d of ['data', 'tmp', 'log', 'user_files', 'format_schemas']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'config.xml'), configXml(dir, httpPort, tcpPort));
  writeFileSync(join(dir, 'users.xml'), USERS_XML);
  // Not daemonised, so the spawned PID is the server (its --pid-file is ignored in this mode).
  const pid = spawnDetached({ cmd: CLICKHOUSE_BIN, args: [`--config-file=${join(dir, 'config.xml')}`], logFile: join(dir, 'log', 'stdout.log'), cwd: dir });
  try {
    await waitUntil('clickhouse', () => clickHouseProbe(httpPort), timeoutMs, () => isAlive(pid));
  } catch (err) {
    await stopPid(pid);
    throw err;
  }
  const version = (await httpQuery(httpPort, 'SELECT version()')).trim();
  return { dir, httpPort, tcpPort, pid, version };
}

async function httpQuery(port: number, sql: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/?query=${encodeURIComponent(sql)}`, { signal: AbortSignal.timeout(2000) });
  const body = await res.text();
  if (!res.ok) throw new Error(`clickhouse HTTP ${res.status}: ${body.slice(0, 200)}`);
  return body;
}

export async function clickHouseProbe(httpPort: number): Promise<boolean> {
  return (await httpQuery(httpPort, 'SELECT 1')).trim() === '1';
}

export async function stopClickHouse(pid: number): Promise<void> {
  await stopPid(pid, { graceMs: 15_000 });
}
