import type { RunResult, StepReport } from './types.js';

/**
 * The one line a `partial` run ends with: which steps did not run (and why), and which writes
 * after commit are missing. Monitoring keys on the exit code; a person reads this.
 */
export function describeIncomplete(dryRun: boolean, steps: readonly StepReport[], missing: RunResult['missingEffects']): string {
  const parts: string[] = [];
  const notRun = steps.filter((s) => s.notRun).map((s) => `${s.name} (${s.notRun})`);
  if (notRun.length) parts.push(`${dryRun ? 'could not run' : 'did not run'}: ${notRun.join('; ')}`);
  if (missing.length) parts.push(`these writes after commit are missing: ${missing.map((m) => `${m.label} (${m.error})`).join('; ')}`);
  if (dryRun) return `dry run: these steps ${parts.join('; ')}`;
  return `the database changes were committed, but ${notRun.length ? 'these steps ' : ''}${parts.join('; and ')}`;
}
