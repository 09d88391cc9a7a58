/**
 * ferry/dashboard: `<ferry-dashboard>`, a live view of a queue as a framework-free custom
 * element. Give it a `Queue` or the `QueueClient` of a queue hosted in a worker:
 *
 * ```ts
 * import { defineDashboard } from 'ferry/dashboard'
 * defineDashboard()                  // importing defines it too; calling it says so to a bundler
 * const el = document.querySelector('ferry-dashboard')
 * el.queue = queue                   // set it again to show another queue
 * ```
 *
 * It shows the jobs per state, the jobs finished per second over the last minute, the chains
 * and batches seen lately with their progress, the engine's network state (when the queue has
 * `online`), and a page of 50 jobs filtered by state, type (an exact type name) and version,
 * with their attempts, versions, progress and last error, in dispatch order: the oldest first,
 * "Next" pages on to newer ones. A job's id opens its details above the table: its queue,
 * times, full error, the versions that dispatched it and ran its last attempt, and its
 * metadata (`job(...).meta()`, a trace's `traceparent`) as a list of keys and values; they
 * are read again with each refresh, and close with their × button, Escape, or a second click
 * on the id. It replays failed or cancelled jobs and failed chains and batches (when the queue
 * has `replayChain` / `replayBatch`), cancels unfinished jobs, and pauses and resumes the queue;
 * an action that fails shows its error in the element. It reads through the
 * public API and `ferry/observable` only, with at most one read in flight per element (also
 * across fast remounts and queue switches) and at most four a second while events keep
 * arriving; rows are updated in place. Removing it from the page stops every subscription and
 * read; adding it back resumes.
 *
 * Some changes emit no event (`prune()`, another engine on a shared store): while the element
 * is on the page and the page is visible it also reads the counts and the page every 5 s, and
 * after each of its own actions. A read that has not answered in 10 s is given up ("The queue
 * did not answer for 10 s."), a new one starts when due, and the late answer is dropped. A page
 * left empty (its jobs pruned) goes back to the last page with jobs.
 *
 * The version column shows `dispatchedBy → processedBy` ("1.4.1 → 1.4.2"; one version when
 * both are the same or only one is known, "→ 1.4.2" when only the running one is), the two
 * spelled out in its title; it is left out while no job on the page has a version. The version
 * filter passes `version` to `listJobs` (jobs dispatched by it or whose last attempt ran on it),
 * trimmed; its list offers the versions seen on the page. A page filtered by type or version
 * shows no total ("1–50"), since the counts are per state only.
 *
 * The type filter matches a type exactly, spaces included; a blank filter means any type. A
 * type is shown up to 80 characters, an error on one line, a progress object up to 60
 * characters of JSON (only its first 2,000 are ever read), a chain step or batch name up to 80
 * characters: the rest is in the `title`. Events are checked field by field before use, since
 * they may come from a worker or another tab: a malformed one is ignored.
 *
 * Job data (ids, types, errors, progress, metadata, versions) is untrusted: it is only ever set
 * as text or as an attribute value, never parsed as HTML. A metadata value is shown up to 300
 * characters (the rest in its title), and what is not a string, number or boolean as JSON.
 *
 * **Attributes.** `theme="light" | "dark"` forces a colour scheme; without it the element
 * follows `prefers-color-scheme`.
 *
 * **Custom properties** (set them on the element or an ancestor):
 * `--ferry-bg` (background), `--ferry-fg` (text), `--ferry-muted` (secondary text),
 * `--ferry-border`, `--ferry-surface` (panels, buttons, table head), `--ferry-accent` (active
 * jobs, chart, focus), `--ferry-ok` (succeeded), `--ferry-fail` (failed, errors), `--ferry-warn`
 * (offline, paused), `--ferry-font` (the `font` shorthand), `--ferry-radius` (corner radius).
 * Set on the element, a property applies in both themes.
 *
 * **Parts** (style them with `::part()`): `dashboard`, `header`, `title`, `network`,
 * `run-state`, `pause`, `error`, `error-text`, `dismiss`, `counts`, `count`, `count-label`,
 * `count-value`, `throughput`, `chart`, `rate`, `peak`, `chains-box`, `chains`, `batches-box`,
 * `batches`, `group` (with `chain` or `batch`), `group-name`, `group-state`, `group-progress`,
 * `group-text`, `group-replay-button` (with `action`), `filters`, `state-filter`, `type-filter`,
 * `version-filter`, `version-filter-error` (why a version typed is not used), `versions` (its
 * datalist), `page-info`, `prev-page`, `next-page`, `jobs` (the table), `job-rows`, `job-row`,
 * `cell` (with `cell-<column>`), `job-link` (the id's button), `job-progress`,
 * `job-progress-text`, `job-error`, `action` (with `replay-button` or `cancel-button`), `empty`,
 * `job-detail`, `detail-title`, `detail-close`, `detail-gone`, `detail-error` (why the job could
 * not be read), `detail-fields`, `meta-title`, `meta`, `meta-entry`, `meta-empty`.
 *
 * **Data hooks** (stable, for tests and scripts, in the open shadow root):
 * - `tr[part~=job-row]`: `data-job-id`, `data-state`, `data-type`; its cells `td[data-col]`
 *   with `id`, `type`, `state`, `attempts` ("2 / 4"), `version`, `progress`, `error`, `actions`.
 *   Rows are reused by position: after a refresh a row element may show another job, so look a
 *   job up by its `data-job-id` each time rather than keeping its row. The row whose details
 *   are open has `data-selected`; `table[part~=jobs][data-versions]` while the version column
 *   shows.
 * - `button[data-action=show-job][data-job-id]` in the id cell (`aria-expanded`), and
 *   `[part~=job-detail][data-job-id]` (hidden when closed) with `[data-field=<name>] dd` for
 *   `type`, `queue`, `state`, `attempts`, `createdAt`, `runAt`, `dispatchedBy`, `processedBy`,
 *   `error` (hidden when absent), `[part~=meta-entry]` (`dt` key, `dd` value) per metadata
 *   entry, `[part~=detail-gone]` when the store no longer has the job, and
 *   `button[data-action=close-detail]`.
 * - `button[data-action=replay|cancel][data-job-id]` in a row, present only when the action
 *   applies (replay: failed or cancelled; cancel: waiting, active, delayed or blocked).
 * - `button[part~=count][data-state]` with `data-count` (the number; click to filter).
 * - `[part~=network][data-online=true|false]` (hidden when the queue does not tell).
 * - `button[part~=pause][data-action=pause|resume]`; `[part~=run-state][data-paused]`.
 * - `li[part~=chain][data-chain-id][data-state]`, `li[part~=batch][data-batch-id][data-state]`,
 *   each with a `progress` bar and `[part~=group-text]` ("1 / 3 steps", "2 / 3 done"), and
 *   when failed and replayable `button[data-action=replay-chain|replay-batch][data-group-id]`.
 * - `[part~=error]` (`role=alert`, hidden when there is none).
 *
 * The pause state is read with the counts (`pausedQueues()`), so a queue paused before the
 * element was on the page shows as paused; the `queue:paused` / `queue:resumed` events change
 * it at once. A queue without `pausedQueues` is known paused only from the events seen while
 * the element is on the page. It shows Paused while any queue name is paused, also one the
 * engine does not work (`pause('reports')`); Resume resumes every name shown as paused.
 *
 * @module ferry/dashboard
 */
import { FerryDashboard } from './element.js'

export { FerryDashboard }
export type { DashboardQueue } from './model.js'

/**
 * Defines the element under `tag` (default `ferry-dashboard`). Does nothing when the tag is
 * already taken or where there are no custom elements (Node, server rendering). A class can be
 * defined only once: other tags get a subclass.
 */
export function defineDashboard(tag = 'ferry-dashboard'): void {
  if (typeof customElements === 'undefined' || customElements.get(tag)) return
  // A class defined under one tag cannot be defined under another: the second tag gets a subclass.
  const taken = customElements.getName(FerryDashboard) !== null
  customElements.define(tag, taken ? class extends FerryDashboard {} : FerryDashboard)
}

declare global {
  interface HTMLElementTagNameMap {
    'ferry-dashboard': FerryDashboard
  }
}

defineDashboard()
