/**
 * The "server received" panel: what the demo's upload server holds, polled from
 * `GET /api/photos`, drawn in place (a photo's entry is made once and then only updated).
 */
import type { Received, ReceivedAlbum, ReceivedPhoto } from './server.js'

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`

function photoText(p: ReceivedPhoto): string {
  const tries = p.puts === 1 ? '1 request' : `${p.puts} requests`
  const dup = p.duplicates > 0 ? `, ${p.duplicates} repeated` : ''
  return `${p.name} · ${kb(p.size)} · ${tries}${dup}`
}

function albumText(a: ReceivedAlbum): string {
  const s = a.summary as { album?: unknown; photos?: unknown; succeeded?: unknown; failed?: unknown }
  return `${String(s.album)}: ${String(s.succeeded)} of ${String(s.photos)} photos sent, ${String(s.failed)} failed`
}

export class ServerPanel {
  readonly #list: HTMLElement
  readonly #albums: HTMLElement
  readonly #count: HTMLElement
  readonly #photos = new Map<string, { li: HTMLElement; text: HTMLElement }>()
  readonly #albumItems = new Map<string, HTMLElement>()

  constructor(list: HTMLElement, albums: HTMLElement, count: HTMLElement) {
    this.#list = list
    this.#albums = albums
    this.#count = count
  }

  render(r: Received): void {
    const seen = new Set<string>()
    for (const p of r.photos) {
      seen.add(p.id)
      let item = this.#photos.get(p.id)
      if (!item) {
        const li = document.createElement('li')
        li.dataset['photoId'] = p.id
        const img = document.createElement('img')
        img.src = `/api/photos/${encodeURIComponent(p.id)}`
        img.alt = p.name
        img.loading = 'lazy'
        const text = document.createElement('span')
        li.append(img, text)
        // Newest first.
        this.#list.prepend(li)
        item = { li, text }
        this.#photos.set(p.id, item)
      }
      const t = photoText(p)
      if (item.text.textContent !== t) item.text.textContent = t
      item.li.dataset['puts'] = String(p.puts)
    }
    for (const [id, item] of this.#photos) {
      if (seen.has(id)) continue
      item.li.remove()
      this.#photos.delete(id)
    }
    this.#count.textContent = `${r.photos.length} photo${r.photos.length === 1 ? '' : 's'}`
    this.#count.dataset['count'] = String(r.photos.length)

    const albums = new Set(r.albums.map((a) => a.id))
    for (const a of r.albums) {
      let li = this.#albumItems.get(a.id)
      if (!li) {
        li = document.createElement('li')
        li.dataset['albumId'] = a.id
        this.#albums.prepend(li)
        this.#albumItems.set(a.id, li)
      }
      const t = albumText(a)
      if (li.textContent !== t) li.textContent = t
    }
    for (const [id, li] of this.#albumItems) {
      if (albums.has(id)) continue
      li.remove()
      this.#albumItems.delete(id)
    }
  }
}
