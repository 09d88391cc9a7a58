import { firstValueFrom, take, toArray } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { createQueue } from '../../src/index.js'
import { online$ } from '../../src/observable/index.js'
import { manualConnectivity } from '../../src/testing/index.js'

describe('online$', () => {
  it('gives the state now, then every change once', async () => {
    const net = manualConnectivity(false)
    const queue = createQueue({ connectivity: net })
    const seen: boolean[] = []
    const sub = online$(queue).subscribe((v) => seen.push(v))
    net.set(true)
    net.set(true)
    net.set(false)
    sub.unsubscribe()
    net.set(true)
    expect(seen).toEqual([false, true, false])
    expect(await firstValueFrom(online$(queue).pipe(take(1), toArray()))).toEqual([true])
    await queue.close()
  })
})
