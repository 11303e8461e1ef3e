import { Readable } from 'node:stream'
import t from 'tap'
import { gated, MEMORY_PER_BYTE } from '../../src/clients/budget-gate.js'
import { createUploadBudget } from '../../src/lib/upload-budget.js'

const PART = 256 * 1024

/**
 * A stand-in for lib-storage reading the gate: it collects parts of PART bytes and "uploads" each
 * after a tick (partDone). Records the most room ever reserved at once. If the gate let through less
 * than a whole part and then waited, the upload would never end (the test would time out).
 */
async function drive(uploads: number, bytesEach: number, totalParts: number, announce = false) {
  let peakHeld = 0
  const budget = createUploadBudget({ maxBufferedBytes: totalParts * PART, partSizeBytes: PART, onChange: (held) => (peakHeld = Math.max(peakHeld, held)) })
  const done = await Promise.all(
    Array.from({ length: uploads }, async () => {
      const body = Readable.from((function* () {
        for (let sent = 0; sent < bytesEach; sent += 10_000) yield Buffer.alloc(Math.min(10_000, bytesEach - sent), 1)
      })())
      const gate = gated(body, budget, 3, announce ? bytesEach : undefined)
      let filling = 0
      let received = 0
      const uploading: Array<Promise<void>> = []
      const send = (n: number) => new Promise<void>((r) => setTimeout(r, 1)).then(() => gate.partDone(n))
      // As lib-storage does (getChunkStream): a part is sent once MORE than PART bytes are in.
      for await (const chunk of gate as AsyncIterable<Buffer>) {
        received += chunk.length
        filling += chunk.length
        while (filling > PART) {
          uploading.push(send(PART))
          filling -= PART
        }
      }
      if (filling > 0) uploading.push(send(filling))
      await Promise.all(uploading)
      gate.giveBack()
      return received
    }),
  )
  return { done, peakHeld, budget }
}

t.test('many uploads share a budget smaller than their needs, and all complete', async (t) => {
  const { done, peakHeld, budget } = await drive(8, 5 * PART + 123, 2 * MEMORY_PER_BYTE)
  t.same(done, Array(8).fill(5 * PART + 123), 'every byte went through')
  t.ok(peakHeld <= 2 * PART * MEMORY_PER_BYTE, `at most the budget charged at once (${peakHeld} bytes)`)
  t.equal(budget.heldBytes, 0, 'all given back')
})

t.test('bodies of known length smaller than a part reserve only their size', async (t) => {
  // Ten 1,000-byte bodies fit a one-part budget together, and hold no more than their bytes.
  const { done, peakHeld, budget } = await drive(10, 1000, 1, true)
  t.same(done, Array(10).fill(1000))
  t.ok(peakHeld <= 10_000 * MEMORY_PER_BYTE, `charged at most for their own bytes (${peakHeld})`)
  t.equal(budget.heldBytes, 0)
})

t.test('a body of known length reserves no more than is left of it', async (t) => {
  const { done, peakHeld } = await drive(1, 2 * PART + 10, 4, true)
  t.same(done, [2 * PART + 10])
  t.ok(peakHeld <= (2 * PART + 10) * MEMORY_PER_BYTE, `${peakHeld}`)
})
