import { OperationError } from '../errors.js';
import { openRedis } from '../redis/connect.js';
import type { ServiceDeps, StepContext } from '../runner/types.js';
import { maskUrl } from '../util/mask.js';
import { RedisSnapshotStore } from './redis-store.js';
import { SpoolDirectory } from './spool.js';
import type { SnapshotStore } from './store.js';
import { TableSnapshotStore } from './table-store.js';

const STORE = 'snapshotStore';
const SPOOLS = 'snapshotSpools';

/**
 * The services of the jobs that keep traffic snapshots: Redis when REDIS_URL is set (an
 * unreachable Redis fails the run here, before any change), the snapshot table otherwise.
 */
export async function snapshotServices(deps: ServiceDeps): Promise<Record<string, unknown>> {
  const { settings } = deps;
  const store: SnapshotStore = settings.redisUrl
    ? new RedisSnapshotStore(await openRedis(settings.redisUrl), settings.redisKeyPrefix, maskUrl(settings.redisUrl))
    : new TableSnapshotStore(deps.db, deps.clock);
  return { [STORE]: store, [SPOOLS]: new SpoolDirectory() };
}

export function snapshotStoreOf(ctx: Pick<StepContext, 'services'>): SnapshotStore {
  return required(ctx, STORE) as SnapshotStore;
}

export function spoolDirectoryOf(ctx: Pick<StepContext, 'services'>): SpoolDirectory {
  return required(ctx, SPOOLS) as SpoolDirectory;
}

function required(ctx: Pick<StepContext, 'services'>, name: string): unknown {
  const s = ctx.services[name];
  // A programming error (a spec without snapshotServices), but say so plainly.
  if (!s) throw new OperationError(`internal: the ${name} service is missing; the command spec must use snapshotServices`);
  return s;
}
