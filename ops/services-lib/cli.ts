import type { ServiceName } from './endpoints.js';
import { SERVICE_NAMES } from './endpoints.js';
import { down, release, restart, status, up } from './manager.js';
import { endpointsEnvPath, endpointsJsonPath, servicesDir } from './paths.js';

const USAGE = `usage: ops/services up [kafka|clickhouse|redis|postgres|all]... [--brokers N]
       ops/services down [kafka|clickhouse|redis|postgres|all]...
       ops/services status [kafka|clickhouse|redis|postgres|all]...
       ops/services restart kafka|clickhouse|redis|postgres   (same ports, same data)
data, PIDs and logs: $SIPHON_SERVICES_DIR (default ${servicesDir()})`;

function parseNames(words: readonly string[]): ServiceName[] {
  if (words.length === 0 || words.includes('all')) return [...SERVICE_NAMES];
  return words.map((w) => {
    if (!(SERVICE_NAMES as readonly string[]).includes(w)) throw new Error(`unknown service '${w}'\n${USAGE}`);
    return w as ServiceName;
  });
}

async function main(argv: readonly string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const words: string[] = [];
  let brokers: number | undefined;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--brokers') {
      brokers = Number(rest[++i]);
      if (!Number.isInteger(brokers) || brokers < 1) throw new Error(`--brokers needs a positive integer\n${USAGE}`);
    } else if (a.startsWith('--brokers=')) {
      brokers = Number(a.slice('--brokers='.length));
      if (!Number.isInteger(brokers) || brokers < 1) throw new Error(`--brokers needs a positive integer\n${USAGE}`);
    } else if (a === '-h' || a === '--help') {
      console.log(USAGE);
      return 0;
    } else words.push(a);
  }
  if (cmd === 'release') {
    // Used by jest's global-teardown: drop that run's leases, stop what only it was using.
    const runId = words[0];
    if (!runId) throw new Error('release needs a run id');
    const stopped = await release(runId);
    if (stopped.length > 0) console.log(`services stopped: ${stopped.join(', ')}`);
    return 0;
  }
  const names = parseNames(words);
  switch (cmd) {
    case 'up': {
      const t0 = Date.now();
      const e = await up(names, { kafkaBrokers: brokers, startedBy: 'cli' });
      console.log(JSON.stringify(e, null, 2));
      console.log(`# ready in ${((Date.now() - t0) / 1000).toFixed(1)} s; written to ${endpointsJsonPath()} and ${endpointsEnvPath()}`);
      return 0;
    }
    case 'restart': {
      for (const n of names) {
        const rec = await restart(n);
        console.log(`${n} restarted: ${rec.processes.map((p) => `${p.label}=${p.pid}`).join(' ')}`);
      }
      return 0;
    }
    case 'down': {
      const stopped = await down(names);
      console.log(stopped.length ? `stopped: ${stopped.join(', ')}` : 'nothing was running');
      return 0;
    }
    case 'status': {
      let allUp = true;
      for (const s of await status(names)) {
        if (s.state !== 'running') allUp = false;
        const pids = s.record ? s.record.processes.map((p) => `${p.label}=${p.pid}`).join(' ') : '';
        const where = s.record ? JSON.stringify(s.record.endpoint) : '';
        console.log(`${s.name.padEnd(10)} ${s.state.padEnd(9)} ${pids} ${where}`.trimEnd());
      }
      return allUp ? 0 : 3;
    }
    default:
      console.error(USAGE);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`ops/services: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
