/**
 * A list kept in order by binary insertion: the memory store's indexes. A queue mostly takes
 * from the front, so the list keeps a moving start: removing the first entry, or adding one
 * before it, costs nothing; other inserts and removals move memory but find their place in
 * log n. An entry at either end is found by one comparison.
 *
 * @module
 */
export class SortedList<T> {
  #items: (T | undefined)[] = []
  #start = 0
  readonly #compare: (a: T, b: T) => number

  constructor(compare: (a: T, b: T) => number) {
    this.#compare = compare
  }

  get size(): number {
    return this.#items.length - this.#start
  }

  #lowerBound(item: T): number {
    let lo = this.#start
    let hi = this.#items.length
    // A queue adds at its end and takes from its front: both found without a search.
    if (lo === hi || this.#compare(this.#items[hi - 1] as T, item) < 0) return hi
    if (this.#compare(this.#items[lo] as T, item) >= 0) return lo
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.#compare(this.#items[mid] as T, item) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  add(item: T): void {
    const i = this.#lowerBound(item)
    if (i === this.#start && this.#start > 0) this.#items[--this.#start] = item
    else this.#items.splice(i, 0, item)
  }

  /** Removes the entry that compares equal to `item` (the comparator must break every tie). */
  delete(item: T): boolean {
    const i = this.#lowerBound(item)
    const found = this.#items[i]
    if (i >= this.#items.length || this.#compare(found as T, item) !== 0) return false
    if (i === this.#start) {
      this.#items[this.#start++] = undefined
      // Give the space of taken entries back now and then, not on every take.
      if (this.#start > 1024 && this.#start * 2 > this.#items.length) {
        this.#items = this.#items.slice(this.#start)
        this.#start = 0
      }
    } else this.#items.splice(i, 1)
    return true
  }

  /** The entries in order. */
  *values(): IterableIterator<T> {
    for (let i = this.#start; i < this.#items.length; i++) yield this.#items[i] as T
  }

  first(): T | undefined {
    return this.#items[this.#start]
  }
}
