import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { REDIS_URL } from './services.js';

export interface TestRedis {
  url: string;
  /** A key prefix of this test file's own: give it as REDIS_KEY_PREFIX. */
  prefix: string;
  client: Redis;
}

/** A Redis client and a unique key prefix per test file; its keys are deleted afterwards. */
export function useTestRedis(): TestRedis {
  const holder = { url: REDIS_URL, prefix: `spanel-test:${randomBytes(5).toString('hex')}:` } as TestRedis;
  beforeAll(async () => {
    holder.client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    const keys = await holder.client.keys(`${holder.prefix}*`);
    if (keys.length) await holder.client.del(...keys);
    await holder.client.quit();
  });
  return holder;
}

export interface PrivateRedis {
  url: string;
  port: number;
  /** Stops the server for real (SHUTDOWN NOSAVE) and waits until its process has exited. */
  stop(): Promise<void>;
}

/**
 * A redis-server process of the test's own on a free port, so a test can stop a real server
 * (not just cut a client) without touching the shared one.
 */
export async function startPrivateRedis(extraArgs: string[] = []): Promise<PrivateRedis> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  for (let i = 0; ; i++) {
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch (err) {
      if (i > 100) throw new Error(`redis-server on port ${port} did not start: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    port,
    stop: async () => {
      await probe.call('SHUTDOWN', 'NOSAVE').catch(() => undefined);
      probe.disconnect();
      await exited;
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
