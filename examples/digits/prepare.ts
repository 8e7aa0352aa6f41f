// Writes the UCI handwritten digits (shipped as digits.csv.gz: 1797 rows of 64
// pixel values 0..16, then the class) out as a folder of 8x8 grey PNGs, one
// sub-folder per class: the layout imageFolder() reads. Done once; reruns are free.
import { createReadStream, existsSync } from 'node:fs'
import { mkdir, writeFile, rename, rm } from 'node:fs/promises'
import { createGunzip } from 'node:zlib'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import sharp from 'sharp'

export const digitsCsv = new URL('./digits.csv.gz', import.meta.url).pathname

// #region prepare
export async function prepareDigits(dir: string): Promise<string> {
  if (existsSync(join(dir, '.complete'))) return dir
  const tmp = `${dir}.partial`
  await rm(tmp, { recursive: true, force: true })
  const lines = createInterface({ input: createReadStream(digitsCsv).pipe(createGunzip()) })
  let n = 0
  for await (const line of lines) {
    if (line.trim() === '') continue
    const values = line.split(',').map(Number)
    const label = values.pop()
    if (values.length !== 64 || label === undefined || !Number.isInteger(label)) throw new Error(`digits.csv.gz row ${n + 1}: expected 64 pixels and a class`)
    const pixels = Uint8Array.from(values, (v) => Math.round((v * 255) / 16))
    await mkdir(join(tmp, String(label)), { recursive: true })
    await writeFile(join(tmp, String(label), `${String(n).padStart(4, '0')}.png`), await sharp(pixels, { raw: { width: 8, height: 8, channels: 1 } }).png().toBuffer())
    n++
  }
  await writeFile(join(tmp, '.complete'), `${n}\n`)
  await rm(dir, { recursive: true, force: true })
  await rename(tmp, dir)
  return dir
}
// #endregion prepare
