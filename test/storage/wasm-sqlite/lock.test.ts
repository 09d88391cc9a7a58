import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { StoreLockedError } from '../../../src/core/errors.js'
import { sqliteStore } from '../../../src/storage/wasm-sqlite/index.js'
import { runFixture } from './child.js'
import { tempDirs } from './temp-dir.js'

const dir = tempDirs()

describe('the lock file between processes', () => {
  it('refuses a second process with StoreLockedError naming the owner, and takes the file over once the owner is killed', async () => {
    const path = join(dir(), 'jobs.db')
    const holder = runFixture('lock-holder.ts', [path])
    await holder.line('open')
    const pid = holder.child.pid
    const store = sqliteStore({ path })
    const err = await store.open().then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(StoreLockedError)
    expect(err).toMatchObject({ code: 'STORE_LOCKED', pid })
    expect((err as Error).message).toContain(`process ${pid} has it open`)

    holder.child.kill('SIGKILL')
    await holder.exited
    expect(existsSync(`${path}.lock`)).toBe(true) // left behind by the killed process
    expect((await store.getJob('from-holder'))?.state).toBe('waiting')
    expect(await store.transaction((tx) => tx.query('PRAGMA integrity_check'))).toEqual([{ integrity_check: 'ok' }])
    await store.close()
  }, 30_000)
})
