// The map's layout: the whole job fits, cells as large as they can be.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { layoutFor } from './segment-canvas.ts'

test('layouts fit the seed job (1,204) and 5,000 segments in the height, largest cells first', () => {
  for (const count of [1, 3, 1204, 5000]) {
    const layout = layoutFor(count, 800, 320)
    assert.ok(layout.columns * layout.rows >= count, `${count}: every segment has a cell`)
    assert.ok(layout.cell >= 6 && layout.cell <= 22)
    if (count <= 1204) assert.ok(layout.rows * (layout.cell + layout.gap) <= 320, `${count} fits`)
  }
  assert.equal(layoutFor(3, 800).cell, 22)
  assert.ok(layoutFor(5000, 800).cell < layoutFor(1204, 800).cell)
})
