// The segment map's drawing: one canvas, one square per segment, laid out in rows to the width.
// An update repaints only the cells that changed, so a busy 5,000-segment job costs a few
// fillRects per event, not a redraw. State is shown by shape as well as colour (claimed: a
// smaller square; rejected: a cross), for readers who do not tell the colours apart.

import { CELL, type Cell, type JobModel } from './job-model.ts'

export interface Layout {
  readonly columns: number
  readonly rows: number
  readonly cell: number
  readonly gap: number
}

/** Cells as large as fit (6 to 22 px) so the whole job shows without scrolling in `height`. */
export function layoutFor(count: number, width: number, height = 320): Layout {
  for (let cell = 22; cell > 6; cell -= 1) {
    const gap = cell >= 12 ? 2 : 1
    const columns = Math.max(1, Math.floor((width + gap) / (cell + gap)))
    const rows = Math.ceil(count / columns)
    if (rows * (cell + gap) <= height) return { columns, rows, cell, gap }
  }
  const gap = 1
  const columns = Math.max(1, Math.floor((width + gap) / (6 + gap)))
  return { columns, rows: Math.ceil(count / columns), cell: 6, gap }
}

const COLOR_VARS: Record<Cell, string> = {
  [CELL.open]: '--cell-open',
  [CELL.claimed]: '--cell-claimed',
  [CELL.proved]: '--cell-proved',
  [CELL.struck]: '--cell-struck',
}

export class SegmentCanvas {
  readonly #canvas: HTMLCanvasElement
  readonly #context: CanvasRenderingContext2D
  #layout: Layout = { columns: 1, rows: 0, cell: 6, gap: 1 }
  #colors: Record<Cell, string> = { 0: '#ccc', 1: '#fc3', 2: '#2a2', 3: '#d33' }
  #background = '#fff'
  #focus: number | undefined

  constructor(canvas: HTMLCanvasElement) {
    this.#canvas = canvas
    const context = canvas.getContext('2d', { alpha: false })
    if (context === null) throw new Error('no 2D canvas in this browser')
    this.#context = context
  }

  get layout(): Layout {
    return this.#layout
  }

  /** Lays out for the model at this width and redraws everything (new job, resize, theme). */
  reset(model: JobModel, width: number): void {
    const style = getComputedStyle(this.#canvas)
    for (const cell of [CELL.open, CELL.claimed, CELL.proved, CELL.struck] as Cell[]) {
      this.#colors[cell] = style.getPropertyValue(COLOR_VARS[cell]).trim() || this.#colors[cell]
    }
    this.#background = style.getPropertyValue('--surface').trim() || '#fff'
    this.#layout = layoutFor(model.segments, width)
    const { columns, rows, cell, gap } = this.#layout
    const ratio = globalThis.devicePixelRatio || 1
    const cssWidth = Math.min(width, columns * (cell + gap))
    const cssHeight = Math.max(cell, rows * (cell + gap))
    this.#canvas.style.width = `${cssWidth}px`
    this.#canvas.style.height = `${cssHeight}px`
    this.#canvas.width = Math.round(cssWidth * ratio)
    this.#canvas.height = Math.round(cssHeight * ratio)
    this.#context.setTransform(ratio, 0, 0, ratio, 0, 0)
    this.#context.fillStyle = this.#background
    this.#context.fillRect(0, 0, cssWidth, cssHeight)
    for (let i = 0; i < model.segments; i++) this.#draw(model, i)
  }

  update(model: JobModel, cells: readonly number[]): void {
    for (const i of cells) this.#draw(model, i)
  }

  /** The keyboard's selected cell gets an outline; the previous one is redrawn plain. */
  focus(model: JobModel, index: number | undefined): void {
    const previous = this.#focus
    this.#focus = index
    if (previous !== undefined) this.#draw(model, previous)
    if (index !== undefined) this.#draw(model, index)
  }

  cellAt(x: number, y: number, count: number): number | undefined {
    const { columns, cell, gap } = this.#layout
    const column = Math.floor(x / (cell + gap))
    const row = Math.floor(y / (cell + gap))
    if (column < 0 || column >= columns || row < 0) return undefined
    const index = row * columns + column
    return index < count ? index : undefined
  }

  #draw(model: JobModel, index: number): void {
    const { columns, cell, gap } = this.#layout
    const x = (index % columns) * (cell + gap)
    const y = Math.floor(index / columns) * (cell + gap)
    const state = (model.cells[index] ?? CELL.open) as Cell
    const c = this.#context
    c.fillStyle = this.#background
    c.fillRect(x, y, cell, cell)
    c.fillStyle = this.#colors[state]
    if (state === CELL.claimed) {
      c.fillStyle = this.#colors[CELL.open]
      c.fillRect(x, y, cell, cell)
      const inset = Math.max(1, Math.floor(cell / 4))
      c.fillStyle = this.#colors[CELL.claimed]
      c.fillRect(x + inset, y + inset, cell - 2 * inset, cell - 2 * inset)
    } else {
      c.fillRect(x, y, cell, cell)
    }
    if (state === CELL.struck && cell >= 8) {
      c.strokeStyle = this.#background
      c.lineWidth = 1
      c.beginPath()
      c.moveTo(x + 2, y + 2)
      c.lineTo(x + cell - 2, y + cell - 2)
      c.moveTo(x + cell - 2, y + 2)
      c.lineTo(x + 2, y + cell - 2)
      c.stroke()
    }
    if (index === this.#focus) {
      c.strokeStyle = getComputedStyle(this.#canvas).getPropertyValue('--focus').trim() || '#06c'
      c.lineWidth = 2
      c.strokeRect(x + 1, y + 1, cell - 2, cell - 2)
    }
  }
}
