import type { SpanelMigration } from './_schema.js';
import panelSchema from './20261125000100_panel_schema.js';
import spanelTables from './20261125000200_spanel_tables.js';
import ledgerWallClock from './20261202001000_ledger_wall_clock.js';
import leaseLock from './20261202001200_lease_lock.js';
import supportArchive from './20261202001500_support_archive.js';

/**
 * Every migration, by name, in the order they run. Imported, not found on disk at run time, so
 * they travel inside the bundled CLI (dist/spanel.cjs) with the one copy of src/ they use. A new
 * migration is its file plus one line here (a test fails when a file is missing from this list).
 */
export const MIGRATIONS: Readonly<Record<string, SpanelMigration>> = {
  '20261125000100_panel_schema': panelSchema,
  '20261125000200_spanel_tables': spanelTables,
  '20261202001000_ledger_wall_clock': ledgerWallClock,
  '20261202001200_lease_lock': leaseLock,
  '20261202001500_support_archive': supportArchive,
};
