import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withFileLock } from './lock.js';
import { cacheDir, repoRoot } from './paths.js';
import { freePorts } from './ports.js';
import { isAlive, run, spawnDetached, stopPid, waitUntil } from './processes.js';

/**
 * The 3.9 line: the last Kafka release line that still serves every protocol version kafkajs
 * 2.2.4 speaks (Kafka 4.0 removed old request versions, KIP-896), and it runs KRaft without
 * ZooKeeper. Override with SIPHON_KAFKA_VERSION. See ops/SERVICES.md for what was verified.
 */
export const KAFKA_VERSION = process.env.SIPHON_KAFKA_VERSION ?? '3.9.1';

export interface KafkaBroker {
  readonly nodeId: number;
  readonly port: number;
  readonly controllerPort: number;
  readonly dir: string;
  pid: number;
}

export interface KafkaCluster {
  readonly version: string;
  readonly dir: string;
  readonly clusterId: string;
  readonly brokers: KafkaBroker[];
}

export interface KafkaStartOptions {
  readonly dir: string;
  readonly brokers?: number;
  readonly version?: string;
  /** Reuse these ports (restart in place); otherwise free ones are chosen. */
  readonly ports?: readonly { port: number; controllerPort: number }[];
  readonly heap?: string;
  readonly readyTimeoutMs?: number;
  /** Extra server.properties lines (later keys win), e.g. shorter failure detection in tests. */
  readonly properties?: Readonly<Record<string, string>>;
}

/** Jars of `org.apache.kafka:kafka_2.13:<version>` from Maven Central, cached under ~/.cache/siphon-ts/kafka/<version>/libs. */
export async function ensureKafkaJars(version: string = KAFKA_VERSION): Promise<string> {
  const base = join(cacheDir(), 'kafka', version);
  const libs = join(base, 'libs');
  const done = join(base, '.complete');
  if (existsSync(done)) return libs;
  return withFileLock(join(base, '.lock'), async () => {
    if (existsSync(done)) return libs;
    const tmp = join(base, `libs.${process.pid}.tmp`);
    rmSync(tmp, { recursive: true, force: true });
    const pom = join(repoRoot(), 'ops', 'kafka', 'pom.xml');
    await run('mvn', ['-q', '-B', '-f', pom, `-Dkafka.version=${version}`, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${tmp}`]);
    if (!readdirSync(tmp).some((f) => f.startsWith(`kafka_2.13-${version}`))) throw new Error(`maven fetched no kafka_2.13-${version} jar`);
    rmSync(libs, { recursive: true, force: true });
    renameSync(tmp, libs);
    writeFileSync(done, new Date().toISOString() + '\n');
    return libs;
  });
}

/** A KRaft cluster id: 16 random bytes, base64url without padding (Kafka's Uuid text form). */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id; // Kafka refuses ids that look like command-line flags
  }
}

function serverProperties(b: KafkaBroker, all: readonly KafkaBroker[], extra: Readonly<Record<string, string>> = {}): string {
  const rf = Math.min(3, all.length);
  const minIsr = rf >= 3 ? 2 : 1;
  const voters = all.map((x) => `${x.nodeId}@127.0.0.1:${x.controllerPort}`).join(',');
  return [
    'process.roles=broker,controller',
    `node.id=${b.nodeId}`,
    `controller.quorum.voters=${voters}`,
    `listeners=PLAINTEXT://127.0.0.1:${b.port},CONTROLLER://127.0.0.1:${b.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${b.port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${join(b.dir, 'data')}`,
    'num.partitions=1',
    `default.replication.factor=${rf}`,
    `min.insync.replicas=${minIsr}`,
    `offsets.topic.replication.factor=${rf}`,
    // Fewer internal partitions than the default 50: the first group/transaction on a fresh
    // broker would otherwise create 50 partitions on a 2-core machine.
    'offsets.topic.num.partitions=4',
    `transaction.state.log.replication.factor=${rf}`,
    `transaction.state.log.min.isr=${minIsr}`,
    'transaction.state.log.num.partitions=4',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=false',
    'unclean.leader.election.enable=false',
    'num.network.threads=2',
    'num.io.threads=2',
    'background.threads=2',
    'num.recovery.threads.per.data.dir=1',
    'log.cleaner.threads=1',
    'log.cleaner.dedupe.buffer.size=8388608',
    'log.segment.bytes=67108864',
    ...Object.entries(extra).map(([k, v]) => `${k}=${v}`),
    '',
  ].join('\n');
}

function log4jProperties(dir: string): string {
  return [
    'log4j.rootLogger=WARN, file',
    'log4j.appender.file=org.apache.log4j.RollingFileAppender',
    `log4j.appender.file.File=${join(dir, 'server.log')}`,
    'log4j.appender.file.MaxFileSize=20MB',
    'log4j.appender.file.MaxBackupIndex=1',
    'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
    'log4j.logger.kafka.server.KafkaRaftServer=INFO',
    '',
  ].join('\n');
}

function javaArgs(b: KafkaBroker, libs: string, heap: string): string[] {
  return [
    '-Xms128m',
    `-Xmx${heap}`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:ActiveProcessorCount=2',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${join(b.dir, 'log4j.properties')}`,
    `-Dkafka.logs.dir=${b.dir}`,
    '-cp',
    `${libs}/*`,
    'kafka.Kafka',
    join(b.dir, 'server.properties'),
  ];
}

/**
 * Starts (or restarts in place) an N-broker KRaft cluster, every node in combined
 * broker+controller role, and waits until a client sees all N brokers.
 */
export async function startKafkaCluster(opts: KafkaStartOptions): Promise<KafkaCluster> {
  const version = opts.version ?? KAFKA_VERSION;
  const n = opts.brokers ?? 1;
  if (!Number.isInteger(n) || n < 1 || n > 9) throw new Error(`kafka: --brokers must be 1..9, got ${n}`);
  const libs = await ensureKafkaJars(version);
  const ports = opts.ports ?? pairs(await freePorts(2 * n));
  const brokers: KafkaBroker[] = ports.map((p, i) => ({ nodeId: i + 1, port: p.port, controllerPort: p.controllerPort, dir: join(opts.dir, `broker-${i + 1}`), pid: 0 }));
  const clusterId = newClusterId();
  for (const b of brokers) {
    mkdirSync(b.dir, { recursive: true });
    writeFileSync(join(b.dir, 'server.properties'), serverProperties(b, brokers, opts.properties));
    writeFileSync(join(b.dir, 'log4j.properties'), log4jProperties(b.dir));
  }
  // Formatting is one short JVM per node; they run side by side. --ignore-formatted keeps a
  // restart in place idempotent (existing meta.properties wins).
  await Promise.all(
    brokers.map((b) => run('java', ['-Xmx128m', `-Dlog4j.configuration=file:${join(b.dir, 'log4j.properties')}`, '-cp', `${libs}/*`, 'kafka.tools.StorageTool', 'format', '--ignore-formatted', '-t', clusterId, '-c', join(b.dir, 'server.properties')])),
  );
  const cluster: KafkaCluster = { version, dir: opts.dir, clusterId, brokers };
  for (const b of brokers) startBroker(b, libs, opts.heap);
  try {
    await waitKafkaReady(cluster, opts.readyTimeoutMs ?? 120_000);
  } catch (err) {
    await stopKafkaCluster(cluster);
    throw err;
  }
  return cluster;
}

function pairs(p: readonly number[]): { port: number; controllerPort: number }[] {
  const out: { port: number; controllerPort: number }[] = [];
  for (let i = 0; i < p.length; i += 2) out.push({ port: p[i], controllerPort: p[i + 1] });
  return out;
}

function startBroker(b: KafkaBroker, libs: string, heap = process.env.SIPHON_KAFKA_HEAP ?? '384m'): void {
  b.pid = spawnDetached({ cmd: 'java', args: javaArgs(b, libs, heap), logFile: join(b.dir, 'stdout.log'), cwd: b.dir });
}

/** Restarts one broker of a running cluster with its existing data (after a kill, say). */
export async function restartKafkaBroker(cluster: KafkaCluster, nodeId: number, timeoutMs = 120_000): Promise<void> {
  const b = cluster.brokers.find((x) => x.nodeId === nodeId);
  if (!b) throw new Error(`kafka: no broker ${nodeId}`);
  await stopPid(b.pid);
  startBroker(b, await ensureKafkaJars(cluster.version));
  await waitKafkaReady(cluster, timeoutMs);
}

/** Ready = every broker process alive and a client's metadata lists all of them. */
export async function waitKafkaReady(cluster: KafkaCluster, timeoutMs: number): Promise<void> {
  await waitUntil(
    `kafka (${cluster.brokers.length} broker(s))`,
    () => kafkaProbe(cluster),
    timeoutMs,
    () => cluster.brokers.every((b) => isAlive(b.pid)),
  );
}

export async function kafkaProbe(cluster: KafkaCluster): Promise<boolean> {
  const { Kafka, logLevel } = await import('kafkajs');
  const kafka = new Kafka({
    clientId: 'siphon-services-probe',
    brokers: cluster.brokers.map((b) => `127.0.0.1:${b.port}`),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 3000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const d = await admin.describeCluster();
    return d.brokers.length === cluster.brokers.length && d.controller !== null && d.controller >= 0;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * SIGTERM every broker together (a controlled shutdown), SIGKILL after the grace period: with
 * the controller quorum going away too, the last brokers cannot always finish cleanly, and the
 * data is throwaway.
 */
export async function stopKafkaCluster(cluster: KafkaCluster, graceMs = 15_000): Promise<void> {
  await Promise.all(cluster.brokers.map((b) => stopPid(b.pid, { graceMs })));
}
