import { existsSync, mkdtempSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../node/log/index.js';

const dir = mkdtempSync(join(tmpdir(), 'siphon-log-'));

async function waitForText(file: string, predicate: (t: string) => boolean): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (predicate(text)) return text;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`log file ${file} never matched`);
}

test('log.format json to log.file: one JSON object per line, log.level filters', async () => {
  const file = join(dir, 'json.log');
  const { logger, flush } = createLogger({ format: 'json', file, level: 'info' });
  logger.debug('hidden');
  logger.info({ call_id: 'abc' }, 'hello');
  flush();
  const text = await waitForText(file, (t) => t.includes('hello'));
  const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ level: 30, msg: 'hello', call_id: 'abc', name: 'siphon' });
});

test('log.format pretty writes human-readable lines', async () => {
  const file = join(dir, 'pretty.log');
  const { logger, flush } = createLogger({ format: 'pretty', file, level: 'debug' });
  logger.warn({ aor: 'sip:alice@example.net' }, 'something odd');
  flush();
  const text = await waitForText(file, (t) => t.includes('something odd'));
  expect(text).toMatch(/WARN/);
  expect(text).toContain('sip:alice@example.net');
  expect(() => JSON.parse(text.split('\n')[0])).toThrow();
});

test('reopen() after rotation starts a fresh file (logrotate postrotate SIGHUP)', async () => {
  const file = join(dir, 'rotate.log');
  const { logger, reopen, flush } = createLogger({ format: 'json', file, level: 'info' });
  logger.info('before');
  flush();
  await waitForText(file, (t) => t.includes('before'));
  renameSync(file, `${file}.1`);
  reopen();
  await new Promise((r) => setTimeout(r, 50));
  logger.info('after');
  flush();
  const text = await waitForText(file, (t) => t.includes('after'));
  expect(text).not.toContain('before');
  expect(readFileSync(`${file}.1`, 'utf8')).toContain('before');
});
