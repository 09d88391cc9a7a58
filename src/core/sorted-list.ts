/**
 * A list kept in order by binary insertion: the memory store's indexes. Reads of the first
 * entries are free; inserts and removals move memory but find their place in log n.
 *
 * @module
 */
export class SortedList<T> {
  readonly #items: T[] = []
  readonly #compare: (a: T, b: T) => number

  constructor(compare: (a: T, b: T) => number) {
    this.#compare = compare
  }

  get size(): number {
    return this.#items.length
  }

  #lowerBound(item: T): number {
    let lo = 0
    let hi = this.#items.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.#compare(this.#items[mid] as T, item) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  add(item: T): void {
    this.#items.splice(this.#lowerBound(item), 0, item)
  }

  /** Removes the entry that compares equal to `item` (the comparator must break every tie). */
  delete(item: T): boolean {
    const i = this.#lowerBound(item)
    const found = this.#items[i]
    if (found === undefined || this.#compare(found, item) !== 0) return false
    this.#items.splice(i, 1)
    return true
  }

  *values(): IterableIterator<T> {
    yield* this.#items
  }

  first(): T | undefined {
    return this.#items[0]
  }
}
