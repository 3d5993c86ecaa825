import { describe, expect, it, vi } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { createUimSchema, schemaFingerprint } from './panel-schemas.js';

// Each test runs whole commands in process; on a shared, loaded host that can take minutes (a bound, not a speed claim).
vi.setConfig({ testTimeout: 300_000, hookTimeout: 300_000 });

/** Every command a sysadmin can point at the database, each must refuse before any write. */
const COMMANDS: string[][] = [
  ['migrate'],
  ['migrate', '--dry-run'],
  ['migrate', 'status'],
  ['job', 'daily'],
  ['job', 'daily', '--dry-run'],
  ['job', 'hourly'],
  ['job', 'check'],
  ['job', 'check', '--force'],
  ['job', 'dbclean'],
  ['payment', 'confirm', '1'],
  ['payment', 'confirm', '1', '--dry-run'],
  ['referral', 'recover', '2'],
  ['status'],
];
const NOW = ['--now', '2026-11-25T02:00:00+08:00'];

describe('an SSPanel-UIM database is refused by every command, unchanged', () => {
  const t = useTestDatabase('mysql', { migrate: false });

  for (const variant of ['as UIM leaves it', 'after an older spanel migrate re-added ss_node, user.enable/t and its own tables'] as const) {
    describe(variant, () => {
      it.each(COMMANDS.map((c) => [c.join(' '), c] as const))('spanel %s: exit 2, one line naming SSPanel-UIM and why, schema unchanged', async (_name, cmd) => {
        await resetUim(t.knex, variant !== 'as UIM leaves it');
        const before = await schemaFingerprint(t.knex);
        const args = cmd[0] === 'migrate' ? cmd : [...cmd, ...NOW];
        const r = await runCli(args, { DATABASE_URL: t.url });
        expect(r.code, r.stdout + r.stderr).toBe(2);
        const lines = r.stderr.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/^spanel: refusing the database at mysql:\/\/.*: recognised SSPanel-UIM \(/);
        expect(lines[0]).toContain('user.last_use_time');
        expect(lines[0]).toContain('user.is_banned');
        expect(lines[0]).toContain('spanel supports only the SPanel / ss-panel-v3-mod family');
        if (variant === 'as UIM leaves it') {
          expect(lines[0]).toContain('table node without ss_node');
          expect(lines[0]).toContain('no user.enable, user.t, user.expire_in');
        }
        expect(await schemaFingerprint(t.knex)).toEqual(before);
      });
    });
  }

  it('doctor reports the schema as a FAIL (exit 1) and checks nothing that would invite a migrate', async () => {
    await resetUim(t.knex, false);
    const before = await schemaFingerprint(t.knex);
    const r = await runCli(['doctor'], { DATABASE_URL: t.url });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\[FAIL\] panel schema: recognised SSPanel-UIM \(table node without ss_node; user\.last_use_time, user\.is_banned, user\.transfer_today; no user\.enable, user\.t, user\.expire_in\): spanel supports only/);
    expect(r.stdout).not.toContain('spanel migrate');
    expect(await schemaFingerprint(t.knex)).toEqual(before);
  });
});

async function resetUim(knex: import('knex').Knex, touchedByOldMigrate: boolean): Promise<void> {
  const [tables] = (await knex.raw(`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE()`)) as [{ t: string }[]];
  for (const { t } of tables) await knex.raw(`DROP TABLE \`${t}\``);
  await createUimSchema(knex);
  if (touchedByOldMigrate) {
    // What the spanel before this change did to a UIM database: columns re-added with zeros.
    await knex.raw('ALTER TABLE `user` ADD `enable` TINYINT NOT NULL DEFAULT 1, ADD `t` INT NOT NULL DEFAULT 0, ADD `expire_in` DATETIME NOT NULL DEFAULT \'2099-06-04 00:05:00\'');
    await knex.raw('CREATE TABLE `ss_node` (`id` INT AUTO_INCREMENT PRIMARY KEY, `type` INT NOT NULL DEFAULT 1, `node_heartbeat` BIGINT NOT NULL DEFAULT 0) ENGINE=InnoDB');
    await knex.raw('CREATE TABLE `spanel_run` (`id` BIGINT AUTO_INCREMENT PRIMARY KEY, `command` VARCHAR(64) NOT NULL, `outcome` VARCHAR(16) NOT NULL) ENGINE=InnoDB');
    await knex.raw('CREATE TABLE `spanel_migrations` (`id` INT AUTO_INCREMENT PRIMARY KEY, `name` VARCHAR(255)) ENGINE=InnoDB');
  }
}
