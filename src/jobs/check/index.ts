import type { JobDefinition } from '../registry.js';
import { DEPENDENT_TABLES } from './delete-archived.js';
import { IP_RECORD_MAX_AGE } from './ip-records.js';
import { classExpiry } from '../steps/class-expiry.js';
import { expiredAccounts } from './expired-accounts.js';
import { ipRecords } from './ip-records.js';
import { negativeBalance } from './negative-balance.js';

/** `spanel job check` (every 10 minutes), SPEC §3: the steps in the order the spec lists them. */
export const checkJob: JobDefinition = {
  steps: [ipRecords, classExpiry, expiredAccounts, negativeBalance],
  writes: ['user', 'payback', ...Object.keys(IP_RECORD_MAX_AGE), ...DEPENDENT_TABLES.map((d) => d.table)],
};
