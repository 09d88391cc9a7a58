/**
 * Prune in one process while another replays what prune would delete, on a real PostgreSQL
 * server: two stores, each with a pool of its own. A job, chain or batch whose replay
 * resolved is running again, so prune must leave it (and a chain's or batch's jobs) in place.
 */
import { describe, expect, it } from 'vitest'
import { createQueue, job } from '../../../src/index.js'
import { postgresStore } from '../../../src/storage/postgres/store.js'
import { freshSchema, testPool } from '../../helpers/postgres.js'

const pools = [testPool({ max: 6 }), testPool({ max: 4 })] as const
const HOUR = 3_600_000

/** Prunes everything finished, again and again, until `stop.done`. */
async function pruneUntil(prune: (before: number) => Promise<number>, stop: { done: boolean }): Promise<number> {
  let rounds = 0
  while (!stop.done) {
    await prune(Date.now() + HOUR)
    rounds++
  }
  return rounds
}

describe('prune racing replays across two processes', () => {
  it('deletes no job whose replay resolved', { timeout: 120_000 }, async () => {
    const schema = freshSchema()
    const a = createQueue({ store: postgresStore({ pool: pools[0], schema }) })
    const b = createQueue({ store: postgresStore({ pool: pools[1], schema }) })
    try {
      const N = 400
      const ids = (await a.dispatchMany(Array.from({ length: N }, (_, i) => job('idle', { i }).delay(HOUR)))).map((r) => r.id)
      for (const id of ids) await a.cancel(id)
      const stop = { done: false }
      const pruning = pruneUntil((before) => b.prune(before), stop)
      const replayed: string[] = []
      await Promise.all(
        [0, 1, 2, 3].map(async (w) => {
          for (let i = w; i < N; i += 4) {
            const id = ids[i] as string
            if (await a.replay(id)) replayed.push(id)
          }
        }),
      )
      stop.done = true
      expect(await pruning).toBeGreaterThan(0)
      const { rows } = await pools[0].query<{ id: string; state: string }>(`SELECT id, state FROM "${schema}".jobs WHERE id = ANY($1::text[])`, [replayed])
      expect(replayed.length).toBeGreaterThan(0)
      expect(rows.map((r) => r.id).sort()).toEqual([...replayed].sort())
      expect(new Set(rows.map((r) => r.state))).toEqual(new Set(['waiting']))
    } finally {
      await a.close()
      await b.close()
    }
  })

  it('deletes no chain or batch whose replay resolved, nor their jobs', { timeout: 180_000 }, async () => {
    const schema = freshSchema()
    const a = createQueue({ store: postgresStore({ pool: pools[0], schema }), concurrency: 8 })
    const b = createQueue({ store: postgresStore({ pool: pools[1], schema }) })
    try {
      a.register('ok', async () => 1)
      a.register('no', async () => {
        throw new Error('no')
      })
      const N = 120
      const chains: string[] = []
      const batches: string[] = []
      for (let i = 0; i < N; i++) {
        chains.push(await a.chain(job('ok', { i }), job('no', { i }).retry(0), job('ok', { i })).dispatch())
        batches.push(await a.batch(job('ok', { i }), job('no', { i }).retry(0)).dispatch())
      }
      await a.drain({ timeoutMs: 60_000 })
      // Replays only: nothing runs the replayed jobs, so the groups stay unfinished.
      await a.stop()
      // Oldest first, each group replayed as the prune that would delete it starts, so that the
      // two meet on many groups: either may come first, but a replay that resolved must stand.
      const groups = (
        await pools[0].query<{ id: string; kind: 'chain' | 'batch'; finished_at: number }>(
          `SELECT id, 'chain' AS kind, finished_at FROM "${schema}".chains UNION ALL SELECT id, 'batch', finished_at FROM "${schema}".batches ORDER BY finished_at`,
        )
      ).rows
      expect(groups).toHaveLength(2 * N)
      const started = groups.map(() => {
        let go!: () => void
        const at = new Promise<void>((resolve) => (go = resolve))
        return { at, go }
      })
      const pruning = (async () => {
        let rounds = 0
        for (const [k, g] of groups.entries()) {
          started[k]?.go()
          await b.prune(Number(g.finished_at) + 0.5)
          rounds++
        }
        return rounds
      })()
      const okChains: string[] = []
      const okBatches: string[] = []
      let next = 0
      await Promise.all(
        [0, 1, 2, 3].map(async () => {
          for (let k = next++; k < groups.length; k = next++) {
            const g = groups[k] as (typeof groups)[number]
            await started[k]?.at
            if (g.kind === 'chain') await a.replayChain(g.id).then(() => okChains.push(g.id), () => undefined)
            else await a.replayBatch(g.id).then(() => okBatches.push(g.id), () => undefined)
          }
        }),
      )
      expect(await pruning).toBeGreaterThan(0)
      expect(okChains.length + okBatches.length).toBeGreaterThan(0)
      const q = async (text: string, params: unknown[] = []): Promise<{ id: string }[]> => (await pools[0].query<{ id: string }>(text, params)).rows
      const c = await q(`SELECT id FROM "${schema}".chains WHERE id = ANY($1::text[])`, [okChains])
      const bt = await q(`SELECT id FROM "${schema}".batches WHERE id = ANY($1::text[])`, [okBatches])
      expect(c.map((r) => r.id).sort()).toEqual([...okChains].sort())
      expect(bt.map((r) => r.id).sort()).toEqual([...okBatches].sort())
      const orphans = await q(
        `SELECT j.id FROM "${schema}".jobs j WHERE (j.chain_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "${schema}".chains c WHERE c.id = j.chain_id)) ` +
          `OR (j.batch_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "${schema}".batches b WHERE b.id = j.batch_id))`,
      )
      expect(orphans).toEqual([])
    } finally {
      await a.close()
      await b.close()
    }
  })
})
