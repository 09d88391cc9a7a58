/**
 * `Coalescer`: turns a burst of "something changed" into few reads. At most one read is in
 * flight; requests during a read cause one more read after it, not one each; reads start at
 * least `windowMs` apart while requests keep coming, and one always follows the last request,
 * so what is shown at rest is exact.
 *
 * @module
 */
export class Coalescer {
  readonly #read: () => Promise<void>
  readonly #windowMs: number
  #reading = false
  #again = false
  #stopped = false
  #timer: ReturnType<typeof setTimeout> | undefined
  #lastStart = -Infinity

  constructor(read: () => Promise<void>, windowMs: number) {
    this.#read = read
    this.#windowMs = windowMs
  }

  /** Asks for a read: now, when the window ends, or when the read in flight ends. */
  request(): void {
    if (this.#stopped) return
    if (this.#reading) {
      this.#again = true
      return
    }
    if (this.#timer !== undefined) return
    const wait = this.#windowMs - (globalThis.performance.now() - this.#lastStart)
    if (wait <= 0) {
      void this.#run()
      return
    }
    this.#timer = globalThis.setTimeout(() => {
      this.#timer = undefined
      void this.#run()
    }, wait)
  }

  /** No read starts after this; one in flight finishes unheeded. */
  stop(): void {
    this.#stopped = true
    if (this.#timer !== undefined) globalThis.clearTimeout(this.#timer)
    this.#timer = undefined
  }

  async #run(): Promise<void> {
    if (this.#stopped) return
    this.#reading = true
    this.#again = false
    this.#lastStart = globalThis.performance.now()
    try {
      await this.#read()
    } finally {
      this.#reading = false
    }
    if (this.#again) this.request()
  }
}
