import { Decimal } from 'decimal.js';

/**
 * Money arithmetic for DECIMAL(12,2) columns. A private Decimal class so the rounding mode
 * (half-to-even, SPEC §1) never depends on, or changes, the global decimal.js configuration.
 */
export const Money = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_EVEN });
export type Money = InstanceType<typeof Money>;

/** A database value (MySQL: string, SQLite: number) or a literal as an exact decimal. */
export function money(v: Decimal.Value | null | undefined): Money {
  if (v === null || v === undefined || v === '') return new Money(0);
  return new Money(typeof v === 'number' ? String(v) : v);
}

/** Rounded half-to-even to cents. */
export function cents(v: Decimal.Value): Money {
  return money(v).toDecimalPlaces(2, Money.ROUND_HALF_EVEN);
}

/** The DECIMAL(12,2) string a money column holds, e.g. "-0.50". */
export function formatMoney(v: Decimal.Value): string {
  return cents(v).toFixed(2);
}
