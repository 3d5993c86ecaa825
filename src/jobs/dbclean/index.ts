import type { JobDefinition } from '../registry.js';
import { logRetention } from './log-retention.js';

/**
 * `spanel job dbclean` (weekly), SPEC §3: the one job that commits as it goes, in bounded
 * batches, because its tables can hold hundreds of millions of rows.
 */
export const dbcleanJob: JobDefinition = { steps: [logRetention], mode: 'batched' };
