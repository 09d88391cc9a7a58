/**
 * Number formatting for the tables.
 *
 * @module
 */
export function int(n: number): string {
  return Math.round(n).toLocaleString('en-US')
}

/** Milliseconds with precision where it matters: 0.012, 0.35, 4.2, 120. */
export function ms(n: number | undefined): string {
  if (n === undefined) return '–'
  if (n < 0.1) return n.toFixed(3)
  if (n < 10) return n.toFixed(2)
  if (n < 100) return n.toFixed(1)
  return int(n)
}

export function ratio(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '–'
  return n >= 10 ? `${n.toFixed(0)}×` : n >= 1 ? `${n.toFixed(2)}×` : `${n.toFixed(2)}×`
}
