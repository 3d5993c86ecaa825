import type { JobDefinition } from '../registry.js';

// Scaffolding: the steps of SPEC §3 land with the jobs issue.
export const dailyJob: JobDefinition = { steps: [] };
