import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';

/** Where the test services are: TEST_DATABASE_URL / TEST_REDIS_URL, with the local defaults. */
export const MYSQL_ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/test';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

const HOW_TO_START = `
Start them (see README, "Running the tests"):
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
or point TEST_DATABASE_URL / TEST_REDIS_URL at running servers.`;

/** The suite never skips: without both services it fails at once and says how to start them. */
export async function assertServicesReachable(): Promise<void> {
  const problems: string[] = [];
  try {
    const conn = await mysql.createConnection({ uri: MYSQL_ADMIN_URL, connectTimeout: 3000 });
    await conn.query('SELECT 1');
    await conn.end();
  } catch (err) {
    problems.push(`MariaDB at ${MYSQL_ADMIN_URL.replace(/:[^:@/]*@/, ':***@')} is unreachable: ${(err as Error).message}`);
  }
  const redis = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    problems.push(`Redis at ${REDIS_URL} is unreachable: ${(err as Error).message}`);
  } finally {
    redis.disconnect();
  }
  if (problems.length) throw new Error(`The tests need real MariaDB and Redis.\n${problems.join('\n')}\n${HOW_TO_START}`);
}
