import { OperationError } from '../errors.js';
import { openRedis } from '../redis/connect.js';
import type { ServiceDeps, Services, StepContext } from '../runner/types.js';
import { RedisSnapshotStore, UnreachableSnapshotStore } from './redis-store.js';
import { SpoolDirectory } from './spool.js';
import type { SnapshotStore } from './store.js';
import { TableSnapshotStore } from './table-store.js';

/**
 * The services of the jobs that keep traffic snapshots: Redis when REDIS_URL is set, the snapshot
 * table otherwise. An unreachable Redis does not fail the run here: the cap steps report that
 * they did not run and every other step still commits (SPEC §3).
 */
export async function snapshotServices(deps: ServiceDeps): Promise<Services> {
  const { settings } = deps;
  let store: SnapshotStore;
  if (!settings.redisUrl) {
    store = new TableSnapshotStore(deps.db, deps.clock);
  } else {
    try {
      store = new RedisSnapshotStore(await openRedis(settings.redisUrl), settings.redisKeyPrefix);
    } catch (err) {
      deps.log.warn({ err: (err as Error).message }, 'Redis is unreachable: the traffic cap steps will not run');
      store = new UnreachableSnapshotStore((err as Error).message);
    }
  }
  const spools = new SpoolDirectory();
  return {
    snapshotStore: store,
    snapshotSpools: spools,
    async close() {
      try {
        await spools.close();
      } finally {
        await store.close();
      }
    },
  };
}

export function snapshotStoreOf(ctx: Pick<StepContext, 'services'>): SnapshotStore {
  return required(ctx.services.snapshotStore, 'snapshotStore');
}

export function spoolDirectoryOf(ctx: Pick<StepContext, 'services'>): SpoolDirectory {
  return required(ctx.services.snapshotSpools, 'snapshotSpools');
}

function required<T>(service: T | undefined, name: string): T {
  // A programming error (a spec without snapshotServices), but say so plainly.
  if (!service) throw new OperationError(`internal: the ${name} service is missing; the command spec must use snapshotServices`);
  return service;
}
