import { snapshotServices } from '../../snapshots/services.js';
import type { JobDefinition } from '../registry.js';
import { classExpiry } from '../steps/class-expiry.js';
import { dailyStatistics } from './daily-statistics.js';
import { nodeHeartbeat } from './node-heartbeat.js';
import { dailyTrafficCap } from './traffic-cap.js';
import { trafficRenewal } from './traffic-renewal.js';
import { unusedAccounts } from './unused-accounts.js';

/** `spanel job daily` (02:00 panel time): SPEC §3, in this order. */
export const dailyJob: JobDefinition = {
  steps: [trafficRenewal, nodeHeartbeat, dailyTrafficCap, unusedAccounts, dailyStatistics, classExpiry],
  services: snapshotServices,
  writes: ['user', 'ss_node'],
};
