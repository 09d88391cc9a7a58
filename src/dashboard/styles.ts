/**
 * The dashboard's stylesheet, scoped to its shadow root. Colours and the font come from CSS
 * custom properties (see the module doc of `ferry/dashboard`); the defaults follow the page's
 * colour scheme unless the `theme` attribute forces light or dark.
 *
 * @module
 */

const LIGHT = `
  --_bg: var(--ferry-bg, #ffffff);
  --_fg: var(--ferry-fg, #1b1f24);
  --_muted: var(--ferry-muted, #5c6670);
  --_border: var(--ferry-border, #d8dee4);
  --_surface: var(--ferry-surface, #f5f7f9);
  --_accent: var(--ferry-accent, #2f6fde);
  --_ok: var(--ferry-ok, #1f8a4c);
  --_fail: var(--ferry-fail, #c62f3a);
  --_warn: var(--ferry-warn, #a86400);
`

const DARK = `
  --_bg: var(--ferry-bg, #15181c);
  --_fg: var(--ferry-fg, #e6e9ec);
  --_muted: var(--ferry-muted, #9aa4ae);
  --_border: var(--ferry-border, #2d333a);
  --_surface: var(--ferry-surface, #1d2126);
  --_accent: var(--ferry-accent, #6aa0ff);
  --_ok: var(--ferry-ok, #4cc47f);
  --_fail: var(--ferry-fail, #ff6b73);
  --_warn: var(--ferry-warn, #f0a43a);
`

export const CSS = `
:host {
  ${LIGHT}
  color-scheme: light;
  display: block;
  box-sizing: border-box;
  font: var(--ferry-font, 13px/1.4 system-ui, -apple-system, 'Segoe UI', sans-serif);
  color: var(--_fg);
  background: var(--_bg);
  border: 1px solid var(--_border);
  border-radius: var(--ferry-radius, 8px);
  padding: 12px;
}
:host([hidden]) { display: none; }
@media (prefers-color-scheme: dark) {
  :host(:not([theme='light'])) { ${DARK} color-scheme: dark; }
}
:host([theme='dark']) { ${DARK} color-scheme: dark; }
*, *::before, *::after { box-sizing: inherit; }
[hidden] { display: none !important; }

header { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 12px; margin-bottom: 10px; }
h2 { font-size: 1.15em; margin: 0 auto 0 0; }
h3 { font-size: 0.85em; margin: 0 0 6px; color: var(--_muted); text-transform: uppercase; letter-spacing: 0.04em; }
section { margin-top: 12px; }

button {
  font: inherit; color: var(--_fg); background: var(--_surface);
  border: 1px solid var(--_border); border-radius: 6px; padding: 3px 10px; cursor: pointer;
}
button:hover:not(:disabled) { border-color: var(--_accent); }
button:focus-visible, select:focus-visible, input:focus-visible { outline: 2px solid var(--_accent); outline-offset: 1px; }
button:disabled { opacity: 0.55; cursor: default; }
select, input {
  font: inherit; color: var(--_fg); background: var(--_bg);
  border: 1px solid var(--_border); border-radius: 6px; padding: 3px 6px;
}

.pill { display: inline-flex; align-items: center; gap: 6px; padding: 2px 10px; border-radius: 999px; border: 1px solid var(--_border); }
.pill::before { content: ''; width: 8px; height: 8px; border-radius: 50%; background: var(--_muted); }
[part~='network'][data-online='true']::before, [part~='run-state'][data-paused='false']::before { background: var(--_ok); }
[part~='network'][data-online='false']::before, [part~='run-state'][data-paused='true']::before { background: var(--_warn); }

[part~='error'] {
  display: flex; align-items: center; gap: 8px; margin-bottom: 10px; padding: 6px 10px;
  border: 1px solid var(--_fail); border-radius: 6px; color: var(--_fail); background: var(--_surface);
}
[part~='error-text'] { flex: 1; overflow-wrap: anywhere; }

[part~='counts'] { display: grid; grid-template-columns: repeat(auto-fill, minmax(92px, 1fr)); gap: 6px; margin: 0; }
[part~='count'] { contain: content; display: flex; flex-direction: column; align-items: flex-start; padding: 6px 10px; text-align: left; }
[part~='count'][aria-pressed='true'] { border-color: var(--_accent); box-shadow: inset 0 0 0 1px var(--_accent); }
[part~='count-label'] { font-size: 0.8em; color: var(--_muted); }
[part~='count-value'] { font-size: 1.35em; font-weight: 600; font-variant-numeric: tabular-nums; }
/* On a class: a descendant selector on [part] would restyle every part below a row whose data-state changed. */
[data-state='succeeded'] > .count-value { color: var(--_ok); }
[data-state='failed'] > .count-value { color: var(--_fail); }
[data-state='active'] > .count-value { color: var(--_accent); }

[part~='throughput'] { display: grid; grid-template-columns: 1fr auto; gap: 2px 12px; align-items: end; }
[part~='chart'] { contain: strict; grid-row: span 2; width: 100%; height: 56px; background: var(--_surface); border-radius: 6px; }
.chart-done { fill: color-mix(in srgb, var(--_accent) 25%, transparent); stroke: var(--_accent); stroke-width: 1.5; vector-effect: non-scaling-stroke; }
.chart-failed { fill: none; stroke: var(--_fail); stroke-width: 1.5; vector-effect: non-scaling-stroke; }
[part~='rate'] { font-size: 1.1em; font-weight: 600; font-variant-numeric: tabular-nums; }
[part~='peak'] { color: var(--_muted); font-size: 0.85em; }

.groups { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 12px; }
.groups > div { min-width: 0; }
ul { list-style: none; margin: 0; padding: 0; display: grid; grid-template-columns: minmax(0, 1fr); gap: 6px; }
ul:empty::after { content: 'None yet'; color: var(--_muted); }
[part~='group'] {
  display: grid; grid-template-columns: minmax(0, 1fr) auto; gap: 2px 8px; padding: 6px 8px;
  border: 1px solid var(--_border); border-radius: 6px; background: var(--_surface);
}
[part~='group-name'] { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; font-weight: 600; }
[part~='group-progress'] { grid-column: 1 / -1; width: 100%; height: 8px; }
[part~='group-text'] { grid-column: 1 / -1; color: var(--_muted); font-size: 0.85em; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
[part~='group-replay-button'] { grid-column: 1 / -1; justify-self: start; margin-top: 2px; }

progress { appearance: none; height: 8px; border: 0; border-radius: 4px; background: var(--_border); overflow: hidden; }
progress::-webkit-progress-bar { background: var(--_border); border-radius: 4px; }
progress::-webkit-progress-value { background: var(--_accent); border-radius: 4px; }
progress::-moz-progress-bar { background: var(--_accent); }
[data-state='succeeded'] > .group-bar::-webkit-progress-value { background: var(--_ok); }
[data-state='failed'] > .group-bar::-webkit-progress-value { background: var(--_fail); }

[part~='filters'] { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 12px; margin-bottom: 8px; }
[part~='filters'] label { display: inline-flex; align-items: center; gap: 6px; color: var(--_muted); }
[part~='page-info'] { margin-left: auto; color: var(--_muted); font-variant-numeric: tabular-nums; }

.table-wrap { contain: content; overflow-x: auto; border: 1px solid var(--_border); border-radius: 6px; }
/* Fixed layout, set column widths and rows of one line: a cell's text never resizes the table. */
table { width: 100%; min-width: 640px; table-layout: fixed; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 5px 8px; text-align: left; border-bottom: 1px solid var(--_border); vertical-align: middle; }
th { font-weight: 600; color: var(--_muted); background: var(--_surface); position: sticky; top: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
th[data-col='id'] { width: 9em; }
th[data-col='state'] { width: 7.5em; }
th[data-col='attempts'] { width: 6.5em; }
th[data-col='version'] { width: 8.5em; }
/* No job on the page has a version: the column is left out rather than shown empty. */
table:not([data-versions]) [data-col='version'] { display: none; }
th[data-col='progress'] { width: 9.5em; }
th[data-col='actions'] { width: 6.5em; }
tbody tr:last-child td { border-bottom: 0; }
/* Each cell's content sits in a box of fixed height (a button's, so it scales with the font) with strict containment: changing it lays out that box alone. */
.cell-box { contain: strict; height: calc(1.2em + 10px); line-height: calc(1.2em + 10px); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
[data-col='id'] { font-family: ui-monospace, monospace; font-size: 0.9em; }
.job-link {
  display: inline-block; max-width: 100%; vertical-align: top; padding: 0; border: 0; border-radius: 3px;
  font: inherit; line-height: inherit; color: var(--_accent); background: none; text-align: left;
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
}
.job-link:hover { text-decoration: underline; }
/* Inside the cell's box, which clips: an outline outside it would not show. */
.job-link:focus-visible { outline-offset: -2px; }
tr[data-selected] > td { background: color-mix(in srgb, var(--_accent) 10%, transparent); }
td[data-col='version'] { color: var(--_muted); }
td[data-col='error'] { color: var(--_fail); }
[part~='job-error'] { display: block; overflow: hidden; text-overflow: ellipsis; }
[data-col='progress'] progress { width: 64px; margin-right: 6px; vertical-align: middle; }
[data-col='actions'] button { line-height: 1.2; vertical-align: middle; }
[data-col='actions'] button + button { margin-left: 4px; }
td[data-col='state'] { font-weight: 600; }
.state-succeeded { color: var(--_ok); }
.state-failed { color: var(--_fail); }
.state-active { color: var(--_accent); }
.state-cancelled, .state-blocked { color: var(--_muted); }
[part~='empty'] { color: var(--_muted); padding: 10px; margin: 0; }

[part~='job-detail'] {
  margin: 0 0 8px; padding: 8px 12px 10px; border: 1px solid var(--_border);
  border-left: 3px solid var(--_accent); border-radius: 6px; background: var(--_surface);
}
[part~='job-detail']:focus { outline: none; }
[part~='job-detail']:focus-visible { outline: 2px solid var(--_accent); outline-offset: 1px; }
.detail-head { display: flex; align-items: center; gap: 8px; }
[part~='detail-title'] {
  flex: 1; margin: 0; font: 600 1em ui-monospace, monospace; color: var(--_fg);
  text-transform: none; letter-spacing: 0; overflow-wrap: anywhere;
}
[part~='detail-close'] { padding: 0 8px; }
[part~='detail-gone'] { color: var(--_muted); margin: 6px 0 0; }
[part~='detail-error'], [part~='version-filter-error'] { color: var(--_fail); margin: 6px 0 0; }
dl { margin: 0; }
dd { margin: 0; overflow-wrap: anywhere; }
dt { color: var(--_muted); font-size: 0.85em; }
[part~='detail-fields'] { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 6px 16px; margin-top: 8px; }
[data-field='error'] { grid-column: 1 / -1; }
[data-field='error'] dd { color: var(--_fail); }
[part~='meta-title'] { font-size: 0.85em; margin: 10px 0 4px; color: var(--_muted); text-transform: uppercase; letter-spacing: 0.04em; }
[part~='meta'] { display: grid; grid-template-columns: minmax(0, max-content) minmax(0, 1fr); gap: 2px 12px; align-items: baseline; }
[part~='meta-entry'], [part~='meta-more'] { display: contents; }
[part~='meta'] dt { font-size: 0.9em; overflow-wrap: anywhere; }
[part~='meta'] dd { font-family: ui-monospace, monospace; font-size: 0.9em; }
[part~='meta-empty'] { color: var(--_muted); margin: 0; }
tr[aria-busy='true'] { opacity: 0.6; }
`
