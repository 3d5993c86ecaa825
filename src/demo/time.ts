/**
 * The demo's fixed clock. Every run acts "as if" at one of these instants (RunOptions.now), so the
 * output is the same on every machine, in every host time zone, on every day. The jobs run at the
 * times their schedules would put them in one night, so a plan that ends at 02:07 is missed by the
 * 02:00 daily job and caught by the 02:10 check job, as in production.
 */
export const DEMO_TIMEZONE = 'Asia/Shanghai';

export const DEMO_TIMES = {
  daily: '2026-11-25T02:00:00+08:00',
  hourly: '2026-11-25T02:05:00+08:00',
  check: '2026-11-25T02:10:00+08:00',
  dbclean: '2026-11-25T02:15:00+08:00',
  payment: '2026-11-25T02:20:00+08:00',
  referral: '2026-11-25T02:25:00+08:00',
} as const;

export type DemoMoment = keyof typeof DEMO_TIMES;

export const demoDate = (moment: DemoMoment): Date => new Date(DEMO_TIMES[moment]);

/** Unix seconds of the daily run (2026-11-25 02:00 in Shanghai): the seed's reference point. */
export const N = Math.floor(demoDate('daily').getTime() / 1000);

export const MINUTE = 60;
export const HOUR = 3_600;
export const DAY = 86_400;
export const GiB = 1024 ** 3;
