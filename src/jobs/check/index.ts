import type { JobDefinition } from '../registry.js';
import { classExpiry } from '../steps/class-expiry.js';
import { expiredAccounts } from './expired-accounts.js';
import { ipRecords } from './ip-records.js';
import { negativeBalance } from './negative-balance.js';

/** `spanel job check` (every 10 minutes), SPEC §3: the steps in the order the spec lists them. */
export const checkJob: JobDefinition = {
  steps: [ipRecords, classExpiry, expiredAccounts, negativeBalance],
};
