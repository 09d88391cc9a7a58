/** Sample photos drawn on a canvas, so the demo runs without picking files. */

export interface Photo {
  name: string
  blob: Blob
}

const WIDTH = 320
const HEIGHT = 240

/** A canvas to draw on: an OffscreenCanvas where there is one, else a detached `<canvas>`. */
function canvas(): { ctx: OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D; toBlob: (type: string) => Promise<Blob> } {
  if (typeof OffscreenCanvas === 'function') {
    const c = new OffscreenCanvas(WIDTH, HEIGHT)
    const ctx = c.getContext('2d')
    if (ctx) return { ctx, toBlob: (type) => c.convertToBlob({ type, quality: 0.85 }) }
  }
  const c = document.createElement('canvas')
  c.width = WIDTH
  c.height = HEIGHT
  const ctx = c.getContext('2d')
  if (!ctx) throw new Error('this browser cannot draw on a canvas')
  return {
    ctx,
    toBlob: (type) => new Promise((resolve, reject) => c.toBlob((b) => (b ? resolve(b) : reject(new Error('the canvas made no image'))), type, 0.85)),
  }
}

/** One picture: a sky in the hue of its number, a sun, hills, and its label. */
async function draw(n: number, label: string, type: 'image/png' | 'image/jpeg'): Promise<Blob> {
  const { ctx, toBlob } = canvas()
  const hue = (n * 47) % 360
  const sky = ctx.createLinearGradient(0, 0, 0, HEIGHT)
  sky.addColorStop(0, `hsl(${hue} 70% 70%)`)
  sky.addColorStop(1, `hsl(${(hue + 40) % 360} 60% 88%)`)
  ctx.fillStyle = sky
  ctx.fillRect(0, 0, WIDTH, HEIGHT)
  ctx.fillStyle = `hsl(${(hue + 180) % 360} 80% 60%)`
  ctx.beginPath()
  ctx.arc(60 + ((n * 37) % 200), 70, 28, 0, Math.PI * 2)
  ctx.fill()
  ctx.fillStyle = `hsl(${(hue + 120) % 360} 35% 35%)`
  ctx.beginPath()
  ctx.moveTo(0, HEIGHT)
  for (let x = 0; x <= WIDTH; x += 20) ctx.lineTo(x, 170 + Math.sin((x + n * 31) / 40) * 25)
  ctx.lineTo(WIDTH, HEIGHT)
  ctx.fill()
  ctx.fillStyle = 'rgba(0 0 0 / 0.55)'
  ctx.fillRect(0, HEIGHT - 34, WIDTH, 34)
  ctx.fillStyle = 'white'
  ctx.font = 'bold 18px system-ui, sans-serif'
  ctx.fillText(label, 12, HEIGHT - 11)
  return toBlob(type)
}

/** `count` small photos, PNG and JPEG in turn, named `<prefix>-01.png` and so on. */
export async function samplePhotos(count: number, prefix: string): Promise<Photo[]> {
  const out: Photo[] = []
  for (let i = 1; i <= count; i++) {
    const type = i % 2 === 1 ? 'image/png' : 'image/jpeg'
    const name = `${prefix}-${String(i).padStart(2, '0')}.${type === 'image/png' ? 'png' : 'jpg'}`
    out.push({ name, blob: await draw(i, name, type) })
  }
  return out
}
