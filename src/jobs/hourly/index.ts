import { snapshotServices } from '../../snapshots/services.js';
import type { JobDefinition } from '../registry.js';
import { staleOrders } from './stale-orders.js';
import { hourlyTrafficCap } from './traffic-cap.js';

/** `spanel job hourly` (minute 5 of every hour): SPEC §3, in this order. */
export const hourlyJob: JobDefinition = {
  steps: [hourlyTrafficCap, staleOrders],
  services: snapshotServices,
  writes: ['user', 'paylist'],
};
