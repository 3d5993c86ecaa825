import type { Knex } from 'knex';

/** 1 GiB, as SPEC §1 defines it. */
export const GiB = 1024 ** 3;

let nextEmail = 1;

/**
 * Inserts a user with harmless defaults (a free, enabled, recently active account that no job
 * touches at the usual test "now") and returns its id. Override what the test is about.
 */
export async function insertUser(knex: Knex | Knex.Transaction, overrides: Record<string, unknown> = {}): Promise<number> {
  const row = {
    email: `user${nextEmail++}@example.com`,
    user_name: 'test',
    pass: 'x',
    passwd: 'x',
    is_admin: 0,
    enable: 1,
    t: 0,
    u: 0,
    d: 0,
    transfer_enable: 0,
    transfer_limit: 0,
    last_day_t: 0,
    money: '0.00',
    ref_by: 0,
    score: 100,
    class: 0,
    class_expire: '2099-01-01 00:00:00',
    expire_in: '2099-01-01 00:00:00',
    reg_date: '2026-01-01 00:00:00',
    node_group: 0,
    ban_times: 0,
    warming: null,
    rss_count: 0,
    rss_count_lastday: 0,
    rss_ips_count: 0,
    rss_ips_lastday: 0,
    last_check_in_time: 0,
    renew_time: 0,
    ...overrides,
  };
  const [id] = await knex('user').insert(row);
  return Number(id);
}

export async function insertNode(knex: Knex | Knex.Transaction, overrides: Record<string, unknown> = {}): Promise<number> {
  const [id] = await knex('ss_node').insert({ name: 'node', type: 1, node_heartbeat: 0, ...overrides });
  return Number(id);
}

export async function insertOrder(knex: Knex | Knex.Transaction, overrides: Record<string, unknown> = {}): Promise<number> {
  const [id] = await knex('paylist').insert({ userid: 1, total: '10.00', status: 0, tradeno: null, datetime: 0, ...overrides });
  return Number(id);
}

/** Every row of a table ordered by id, values normalised so MySQL and SQLite compare alike. */
export async function dump(knex: Knex, table: string): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = await knex(table).select('*').orderBy('id');
  return rows.map(normalise);
}

/** Numeric strings (MySQL BIGINT/DECIMAL) → numbers; DECIMAL keeps 2 places as a string. */
export function normalise(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, normaliseValue(v)]));
}

export function normaliseValue(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v) && v.length < 16) return Number(v);
  return v;
}

/** A money value as the DECIMAL(12,2) string MySQL returns, from either dialect. */
export function money(v: unknown): string {
  return Number(v).toFixed(2);
}
