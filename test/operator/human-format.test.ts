import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { formatBytes, formatMoneyValue, formatUnixTime, formatValue, wrapFields } from '../../src/output/format.js';
import { renderHuman, renderJson } from '../../src/output/render.js';
import { colourLevel } from '../../src/output/terminal.js';
import type { RunResult } from '../../src/runner/types.js';
import { runCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';

describe('values for people', () => {
  it('sizes in binary units', () => {
    expect(formatBytes(5368709120n)).toBe('5 GiB');
    expect(formatBytes(1610612736n)).toBe('1.5 GiB');
    expect(formatBytes(3145728n)).toBe('3 MiB');
    expect(formatBytes(1536n)).toBe('1.5 KiB');
    expect(formatBytes(512n)).toBe('512 B');
    expect(formatBytes(0n)).toBe('0 B');
    expect(formatBytes(536870912000n)).toBe('500 GiB');
    expect(formatBytes(2n * 1024n ** 4n)).toBe('2 TiB');
  });

  it('Unix seconds as panel-local date-times; 0 is "never"', () => {
    expect(formatUnixTime(1795543140n, 'Asia/Shanghai')).toBe('2026-11-25 01:59:00');
    expect(formatUnixTime(1795543140n, 'UTC')).toBe('2026-11-24 17:59:00');
    expect(formatUnixTime(0n, 'Asia/Shanghai')).toBe('0 (never)');
  });

  it('money with its cents, unquoted', () => {
    expect(formatMoneyValue('5')).toBe('5.00');
    expect(formatMoneyValue('-3.5')).toBe('-3.50');
    expect(formatMoneyValue(12.25)).toBe('12.25');
  });

  it('by column: bytes, times and money where the panel keeps them, anything else as before', () => {
    const tz = 'Asia/Shanghai';
    expect(formatValue('user', 'u', 5368709120, tz)).toBe('5 GiB');
    expect(formatValue('user', 'transfer_enable', '10737418240', tz)).toBe('10 GiB');
    expect(formatValue('user', 'renew_time', 1795543140, tz)).toBe('2026-11-25 01:59:00');
    expect(formatValue('user', 'money', '5.00', tz)).toBe('5.00');
    expect(formatValue('paylist', 'total', '30', tz)).toBe('30.00');
    // payback.total −1/−2 are markers, not money; user.expire_in is already a DATETIME string.
    expect(formatValue('payback', 'total', -1, tz)).toBe('-1');
    expect(formatValue('user', 'expire_in', '2026-11-10 00:00:00', tz)).toBe('"2026-11-10 00:00:00"');
    expect(formatValue('email_verify', 'expire_in', 1795543140, tz)).toBe('2026-11-25 01:59:00');
    expect(formatValue('user', 'class', 2, tz)).toBe('2');
    expect(formatValue('user', 'warming', null, tz)).toBe('NULL');
  });

  it('long lines wrap between fields, never inside one', () => {
    const fields = ['aaaa 1 → 2', 'bbbb 3 → 4', 'cccc 5 → 6'];
    expect(wrapFields('  user #1:', fields, 30, '    ')).toBe('  user #1: aaaa 1 → 2,\n    bbbb 3 → 4, cccc 5 → 6');
    expect(wrapFields('  user #1:', fields, 200, '    ')).toBe('  user #1: aaaa 1 → 2, bbbb 3 → 4, cccc 5 → 6');
    // A field longer than the width stays whole.
    expect(wrapFields('x', ['y'.repeat(50), 'z'], 20, ' ')).toBe(`x ${'y'.repeat(50)},\n z`);
  });
});

function result(): RunResult {
  return {
    command: 'job daily',
    runId: 7,
    dryRun: false,
    outcome: 'success',
    now: '2026-11-24T18:00:00.000Z',
    nowPanelLocal: '2026-11-25 02:00:00',
    timezone: 'Asia/Shanghai',
    startedAt: '2026-11-24T18:00:00.000Z',
    durationMs: 1234,
    steps: [
      {
        name: 'renewal',
        title: 'Traffic period renewal',
        durationMs: 5,
        count: 1,
        changes: [
          {
            table: 'user',
            id: 11,
            action: 'update',
            before: { u: 5368709120, d: 3221225472, transfer_limit: 10737418240, renew_time: 1795543140 },
            after: { u: 8589934592, d: 0, transfer_limit: 21474836480, renew_time: 1797271200 },
          },
          { table: 'user', id: 12, action: 'update', before: { money: '5.00' }, after: { money: '3.00' } },
        ],
      },
    ],
    missingEffects: [],
    error: null,
    exitCode: 0,
  };
}

describe('a report for people, and --json for machines', () => {
  it('the human summary shows units and wraps at the width', () => {
    const text = renderHuman(result(), new Chalk({ level: 0 }), { width: 80 });
    expect(text).toBe(
      [
        'spanel job daily (run #7)',
        'now 2026-11-25 02:00:00 Asia/Shanghai (2026-11-24T18:00:00.000Z)',
        ' 1. Traffic period renewal             1 row',
        '      user #11: u 5 GiB → 8 GiB, d 3 GiB → 0 B, transfer_limit 10 GiB → 20 GiB,',
        '        renew_time 2026-11-25 01:59:00 → 2026-12-15 02:00:00',
        '      user #12: money 5.00 → 3.00',
        'done in 1.23 s: changed 1 row',
        '',
      ].join('\n'),
    );
  });

  it('--json keeps the raw values', () => {
    const json = JSON.parse(renderJson(result()));
    expect(json.steps[0].changes[0].before).toEqual({ u: '5368709120', d: '3221225472', transfer_limit: '10737418240', renew_time: 1795543140 }); // traffic counters as strings on every backend (docs/guarantees.md)
    expect(json.steps[0].changes[1].after).toEqual({ money: '3.00' });
  });
});

describe('colour', () => {
  const pipe = { isTTY: false } as NodeJS.WritableStream & { isTTY?: boolean };
  const tty = { isTTY: true } as NodeJS.WritableStream & { isTTY?: boolean };
  it('FORCE_COLOR forces it (even over NO_COLOR and in a pipe), NO_COLOR turns it off, else a terminal has it', async () => {
    expect(await colourLevel({ FORCE_COLOR: '1' }, pipe)).toBe(1);
    expect(await colourLevel({ FORCE_COLOR: '3', NO_COLOR: '1' }, pipe)).toBe(3);
    expect(await colourLevel({ FORCE_COLOR: '0' }, tty)).toBe(0);
    expect(await colourLevel({ FORCE_COLOR: 'false' }, tty)).toBe(0);
    expect(await colourLevel({ FORCE_COLOR: '' }, pipe)).toBe(1);
    expect(await colourLevel({ NO_COLOR: '1' }, tty)).toBe(0);
    expect(await colourLevel({}, tty)).toBe(1);
    expect(await colourLevel({ TERM: 'dumb' }, tty)).toBe(0);
    expect(await colourLevel({}, pipe)).toBe(0);
  });

});

describe('colour through the CLI', { timeout: 180_000 }, () => {
  const t = useTestDatabase('sqlite');
  it('FORCE_COLOR colours the report in a pipe; NO_COLOR alone leaves it plain', async () => {
    const plain = await runCli(['job', 'dbclean', '--dry-run'], { DATABASE_URL: t.url });
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(/^spanel job dbclean — DRY RUN/);
    const forced = await runCli(['job', 'dbclean', '--dry-run'], { DATABASE_URL: t.url, FORCE_COLOR: '1' });
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/^\x1b\[1mspanel job dbclean\x1b\[22m\x1b\[33m — DRY RUN/);
  });
});
