import { afterEach, describe, expect, it } from 'vitest';
import { Clock } from '../../src/time/clock.js';
import { isTimeZone, wallTime } from '../../src/time/zone.js';

/** What Intl says the wall time is: the reference wallTime must agree with. */
function intlWall(ms: number, zone: string) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' })
      .formatToParts(new Date(ms))
      .filter((p) => p.type !== 'literal')
      .map((p) => [p.type, Number(p.value)]),
  );
  return { year: parts.year, month: parts.month, day: parts.day, hour: parts.hour, minute: parts.minute, second: parts.second };
}

const ZONES = ['Asia/Shanghai', 'UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'Asia/Calcutta', 'America/St_Johns', 'Pacific/Chatham', 'US/Pacific', 'PRC', 'Etc/GMT+8'];
const savedTz = process.env.TZ;

afterEach(() => {
  if (savedTz === undefined) delete process.env.TZ;
  else process.env.TZ = savedTz;
});

describe('panel-local wall time without Intl', () => {
  it('agrees with Intl in every zone, every half hour around DST changes and across years', () => {
    const instants: number[] = [];
    // Both 2026 DST changes of Europe, North America and Lord Howe (half-hour DST), every 30 min.
    for (const day of [Date.UTC(2026, 2, 8), Date.UTC(2026, 2, 29), Date.UTC(2026, 3, 5), Date.UTC(2026, 9, 4), Date.UTC(2026, 9, 25), Date.UTC(2026, 10, 1)]) {
      for (let h = -24; h <= 48; h += 0.5) instants.push(day + h * 3_600_000 + 17_000);
    }
    for (let y = 2000; y <= 2037; y++) instants.push(Date.UTC(y, 0, 1, 15, 59, 59), Date.UTC(y, 6, 15, 3, 4, 5));
    for (const zone of ZONES) for (const ms of instants) expect(wallTime(ms, zone), `${zone} ${new Date(ms).toISOString()}`).toEqual(intlWall(ms, zone));
  });

  it('leaves TZ as it found it, set or unset', () => {
    delete process.env.TZ;
    wallTime(Date.UTC(2026, 0, 1), 'Asia/Shanghai');
    expect(process.env.TZ).toBeUndefined();
    expect('TZ' in process.env).toBe(false);
    process.env.TZ = 'America/New_York';
    wallTime(Date.UTC(2026, 0, 1), 'Asia/Shanghai');
    expect(process.env.TZ).toBe('America/New_York');
    // The host's own local time is back to the host's zone (New York: UTC-5 in January).
    expect(new Date(Date.UTC(2026, 0, 1, 12)).getHours()).toBe(7);
  });

  it('Clock renders the SPEC formats from it (the time-zone trap: panel zone, not the host zone)', () => {
    process.env.TZ = 'America/Los_Angeles';
    const c = new Clock(new Date('2026-03-31T16:30:05Z'), 'Asia/Shanghai');
    expect(c.panelLocal()).toBe('2026-04-01 00:30:05');
    expect(c.panelLocal(-3600)).toBe('2026-03-31 23:30:05');
    expect(c.warningStamp()).toBe('20260401 00:30:05');
    expect(c.panelMonthsAgo(1)).toBe('2026-03-01 00:30:05');
    expect(new Clock(new Date('2026-03-30T16:00:00Z'), 'Asia/Shanghai').panelMonthsAgo(1)).toBe('2026-02-28 00:00:00');
  });
});

describe('time zone names', () => {
  it('accepts what Intl accepts, links and UTC included, and refuses what V8 would silently take for UTC', () => {
    for (const z of ZONES) expect(isTimeZone(z), z).toBe(true);
    for (const z of ['Asia/Shangai', 'Mars/Olympus', '', 'CST-8', '+08:00', 'Asia/Shanghai ']) expect(isTimeZone(z), JSON.stringify(z)).toBe(false);
  });
});
