// A stand-in for the verifier module with the same exports, built byte by byte, that misbehaves
// on cue so the checker's crash and time-limit handling can be tested deterministically:
// - a receipt of 1 byte traps (`unreachable`, as a panic in risc0's code would);
// - a receipt of 2 bytes never returns (an endless loop);
// - any other receipt is refused with REFUSAL.

export const TRAP_RECEIPT = Uint8Array.of(1)
export const ENDLESS_RECEIPT = Uint8Array.of(1, 2)
export const REFUSAL = 'refused by the misbehaving test module'

const MAGIC_AND_VERSION = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]
const SECTION = { type: 1, function: 3, memory: 5, export: 7, code: 10, data: 11 }
const EXPORT_KIND = { function: 0x00, memory: 0x02 }
const I32 = 0x7f
const FUNC_TYPE = 0x60
const EMPTY_BLOCK = 0x40
const OP = {
  unreachable: 0x00,
  loop: 0x03,
  if: 0x04,
  end: 0x0b,
  br: 0x0c,
  localGet: 0x20,
  i32Const: 0x41,
  i32Eq: 0x46,
}

const utf8 = (text: string) => [...new TextEncoder().encode(text)]

function uleb(value: number): number[] {
  const out: number[] = []
  do {
    let byte = value & 0x7f
    value >>>= 7
    if (value !== 0) byte |= 0x80
    out.push(byte)
  } while (value !== 0)
  return out
}

/** Signed LEB128 of a non-negative constant. */
function sleb(value: number): number[] {
  const out: number[] = []
  for (;;) {
    const byte = value & 0x7f
    value >>= 7
    if (value === 0 && (byte & 0x40) === 0) return [...out, byte]
    out.push(byte | 0x80)
  }
}

const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()]
const bytes = (list: number[]) => vec(list.map((b) => [b]))
const section = (id: number, items: number[][]) => {
  const content = vec(items)
  return [id, ...uleb(content.length), ...content]
}
const funcType = (params: number[], results: number[]) => [
  FUNC_TYPE,
  ...bytes(params),
  ...bytes(results),
]
/** A function body without locals. */
const body = (code: number[]) => {
  const fn = [0, ...code, OP.end]
  return [...uleb(fn.length), ...fn]
}
const i32Const = (value: number) => [OP.i32Const, ...sleb(value)]
const ifThen = (code: number[]) => [OP.if, EMPTY_BLOCK, ...code, OP.end]
const lengthIs = (n: number) => [OP.localGet, 1, ...i32Const(n), OP.i32Eq]

export function misbehavingVerifier(): Uint8Array {
  const document = utf8(JSON.stringify({ error: REFUSAL }))
  const verify = [
    ...lengthIs(TRAP_RECEIPT.length),
    ...ifThen([OP.unreachable]),
    ...lengthIs(ENDLESS_RECEIPT.length),
    ...ifThen([OP.loop, EMPTY_BLOCK, OP.br, 0, OP.end]),
    ...i32Const(1), // status 1: the result document is a refusal
  ]
  const exports: Array<[string, number, number]> = [
    ['memory', EXPORT_KIND.memory, 0],
    ['wholesum_alloc', EXPORT_KIND.function, 0],
    ['wholesum_free', EXPORT_KIND.function, 1],
    ['wholesum_verify', EXPORT_KIND.function, 2],
    ['wholesum_image_id', EXPORT_KIND.function, 3],
    ['wholesum_result_ptr', EXPORT_KIND.function, 4],
    ['wholesum_result_len', EXPORT_KIND.function, 5],
  ]
  return Uint8Array.from([
    ...MAGIC_AND_VERSION,
    ...section(SECTION.type, [
      funcType([I32], [I32]), // alloc
      funcType([I32, I32], []), // free
      funcType([I32, I32, I32], [I32]), // verify
      funcType([I32, I32], [I32]), // image_id
      funcType([], [I32]), // result_ptr, result_len
    ]),
    ...section(SECTION.function, [[0], [1], [2], [3], [4], [4]]),
    ...section(SECTION.memory, [[0x00, 1]]), // one page, no maximum
    ...section(
      SECTION.export,
      exports.map(([name, kind, index]) => [...bytes(utf8(name)), kind, index]),
    ),
    ...section(SECTION.code, [
      body(i32Const(1024)), // every buffer at 1024: the inputs are never read
      body([]),
      body(verify),
      body(i32Const(1)),
      body(i32Const(0)), // the result document sits at 0
      body(i32Const(document.length)),
    ]),
    // One active segment in memory 0 at offset 0: the result document.
    ...section(SECTION.data, [[0x00, ...i32Const(0), OP.end, ...bytes(document)]]),
  ])
}
