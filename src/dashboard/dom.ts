/**
 * The few DOM helpers the dashboard builds with. Text goes in as text nodes and attributes as
 * attributes: nothing here parses HTML, so job data can never become markup.
 *
 * @module
 */

export type Attrs = Record<string, string | number | boolean | undefined>

/** An element with attributes (`true` sets an empty one, `false`/`undefined` none) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) setAttr(el, name, value)
  el.append(...children)
  return el
}

/** An SVG element (the chart's), made the same way. */
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Attrs = {}): SVGElementTagNameMap[K] {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag)
  for (const [name, value] of Object.entries(attrs)) setAttr(el, name, value)
  return el
}

/** Sets an attribute when it differs: writes to the DOM only what changed. */
export function setAttr(el: Element, name: string, value: string | number | boolean | undefined): void {
  if (value === undefined || value === false) {
    if (el.hasAttribute(name)) el.removeAttribute(name)
    return
  }
  const text = value === true ? '' : String(value)
  if (el.getAttribute(name) !== text) el.setAttribute(name, text)
}

/** Sets a node's text when it differs. */
export function setText(node: Node, text: string): void {
  if (node.textContent !== text) node.textContent = text
}

/** Sets a button's `disabled` when it differs: setting it to what it was still records a mutation. */
export function setDisabled(b: HTMLButtonElement, disabled: boolean): void {
  if (b.disabled !== disabled) b.disabled = disabled
}

let numbers: Intl.NumberFormat | undefined

/**
 * A count as the reader's locale writes it. One formatter for all: `toLocaleString` builds a
 * new one per call, and that showed in profiles of a busy dashboard.
 */
export function formatCount(n: number): string {
  numbers ??= new Intl.NumberFormat()
  return numbers.format(n)
}
