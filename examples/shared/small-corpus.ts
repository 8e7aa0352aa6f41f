// Makes a small labelled JPEG corpus from the real photos in ../shared/data/photos
// (random crops, like ../shared/bench/make_corpus.py, but with sharp, so the
// examples need no Python): OUT/class_XX/img_N.jpg and OUT/labels.csv in the
// seed article's x_y form (path, one-hot columns). The same seed gives the same corpus.
import { existsSync } from 'node:fs'
import { mkdir, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import sharp from 'sharp'
import { fileURLToPath } from 'node:url'

export const photosDir = fileURLToPath(new URL('../../../shared/data/photos/', import.meta.url))

export async function makeSmallCorpus(out: string, { count = 64, classes = 2, width = 160, height = 120, seed = 1 } = {}): Promise<string> {
  if (existsSync(join(out, 'labels.csv'))) return out
  let s = seed
  const rand = () => { s = (s * 16807) % 2147483647; return s / 2147483647 }
  const photos = (await readdir(photosDir)).sort()
  const rows: string[] = []
  for (let i = 0; i < count; i++) {
    const k = i % classes
    const photo = join(photosDir, photos[Math.floor(rand() * photos.length)] as string)
    const meta = await sharp(photo).metadata()
    const w = meta.width ?? width
    const h = meta.height ?? height
    const cw = Math.max(8, Math.floor(w * (0.4 + 0.6 * rand())))
    const ch = Math.max(8, Math.min(h, Math.floor((cw * height) / width)))
    const left = Math.floor(rand() * (w - cw))
    const top = Math.floor(rand() * (h - ch))
    const rel = join(`class_${String(k).padStart(2, '0')}`, `img_${String(i).padStart(5, '0')}.jpg`)
    await mkdir(join(out, `class_${String(k).padStart(2, '0')}`), { recursive: true })
    await sharp(photo).extract({ left, top, width: cw, height: ch }).resize(width, height, { fit: 'fill' }).removeAlpha().toColourspace('srgb').jpeg({ quality: 90 }).toFile(join(out, rel))
    rows.push([rel, ...Array.from({ length: classes }, (_, j) => (j === k ? 1 : 0))].join(','))
  }
  await writeFile(join(out, 'labels.csv'), `${rows.join('\n')}\n`)
  return out
}
