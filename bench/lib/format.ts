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

/** A ratio with two significant digits where it is small: 12×, 1.48×, 0.56×, 0.052×, 0.0023×. */
export function ratio(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '–'
  if (n >= 10) return `${n.toFixed(0)}×`
  if (n >= 0.1) return `${n.toFixed(2)}×`
  if (n === 0) return '0×'
  return `${Number(n.toPrecision(2)).toString()}×`
}
