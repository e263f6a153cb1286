// A typed face on the WebAssembly build of risc0's verifier (rust/src/lib.rs): copies bytes into
// the instance, calls one export, reads the JSON document it leaves. No DOM and no Node APIs, so
// the same code runs in a page, a web worker and the Node tests.

// The few WebAssembly JS-API members used here. TypeScript declares the namespace only in its DOM
// and web-worker libraries, which the Node side of this project does not load.
interface WasmModule {
  readonly __wasmModule?: never
}
interface WasmApi {
  compile(bytes: ArrayBuffer | ArrayBufferView): Promise<WasmModule>
  Module: { new (bytes: ArrayBuffer): WasmModule; exports(module: WasmModule): { name: string }[] }
  Instance: new (module: WasmModule, imports: object) => { exports: object }
  RuntimeError: new () => Error
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly

/** What a receipt that verified says about itself. */
export interface VerifiedReceipt {
  readonly kind: 'composite' | 'succinct' | 'groth16'
  readonly segments: number
  /** The image ID it was verified against (hex). */
  readonly imageId: string
  readonly claimDigest: string
  readonly journalHex: string
  readonly exitCode: { readonly kind: string; readonly code: number } | null
}

/** The receipt (or program) was read and refused: the message says why. */
export class ReceiptRejectedError extends Error {
  override name = 'ReceiptRejectedError'
}

/** The verifier itself failed (a trap inside the module); the next call starts a fresh instance. */
export class VerifierCrashedError extends Error {
  override name = 'VerifierCrashedError'
}

interface Exports {
  readonly memory: { readonly buffer: ArrayBuffer }
  wholesum_alloc(len: number): number
  wholesum_free(ptr: number, len: number): void
  wholesum_verify(receipt: number, receiptLen: number, imageId: number): number
  wholesum_image_id(program: number, programLen: number): number
  wholesum_result_ptr(): number
  wholesum_result_len(): number
}

const EXPORTS = [
  'memory',
  'wholesum_alloc',
  'wholesum_free',
  'wholesum_verify',
  'wholesum_image_id',
  'wholesum_result_ptr',
  'wholesum_result_len',
] as const

const HEX32 = /^(0x)?[0-9a-fA-F]{64}$/

export class ReceiptVerifier {
  readonly #module: WasmModule
  #instance: Exports | undefined

  private constructor(module: WasmModule) {
    this.#module = module
  }

  /** Compiles the module once (bytes, or a module compiled elsewhere) and checks its exports. */
  static async load(source: ArrayBuffer | ArrayBufferView | WasmModule): Promise<ReceiptVerifier> {
    const module =
      source instanceof wasmApi.Module
        ? source
        : await wasmApi.compile(source as ArrayBuffer | ArrayBufferView)
    const names = new Set(wasmApi.Module.exports(module).map((e) => e.name))
    const missing = EXPORTS.filter((name) => !names.has(name))
    if (missing.length > 0) {
      throw new Error(`not the Wholesum receipt verifier: missing exports ${missing.join(', ')}`)
    }
    return new ReceiptVerifier(module)
  }

  /** Verifies a receipt in risc0's bincode format against an image ID (64 hex characters). */
  verify(receipt: Uint8Array, imageIdHex: string): VerifiedReceipt {
    if (!HEX32.test(imageIdHex)) {
      throw new ReceiptRejectedError(
        `an image ID is 64 hex characters, got ${JSON.stringify(imageIdHex)}`,
      )
    }
    const imageId = hexBytes(imageIdHex.replace(/^0x/, ''))
    return this.#call((wasm) =>
      this.#withBuffers(wasm, [receipt, imageId], ([r, i]) =>
        wasm.wholesum_verify(r!, receipt.length, i!),
      ),
    ) as VerifiedReceipt
  }

  /** A program binary's image ID (hex), computed here rather than taken from whoever sent it. */
  imageId(program: Uint8Array): string {
    const result = this.#call((wasm) =>
      this.#withBuffers(wasm, [program], ([p]) => wasm.wholesum_image_id(p!, program.length)),
    ) as { imageId: string }
    return result.imageId
  }

  #call(run: (wasm: Exports) => number): unknown {
    const wasm = this.#live()
    let status: number
    try {
      status = run(wasm)
    } catch (err) {
      // A trap leaves the instance's memory in whatever state the panic found it.
      this.#instance = undefined
      if (err instanceof wasmApi.RuntimeError) {
        throw new VerifierCrashedError(`the verifier crashed: ${err.message}`)
      }
      throw err
    }
    const text = new TextDecoder().decode(
      new Uint8Array(wasm.memory.buffer, wasm.wholesum_result_ptr(), wasm.wholesum_result_len()),
    )
    const document = JSON.parse(text) as { error?: string }
    if (status !== 0) throw new ReceiptRejectedError(document.error ?? text)
    return document
  }

  #withBuffers(wasm: Exports, inputs: Uint8Array[], run: (ptrs: number[]) => number): number {
    const ptrs: number[] = []
    for (const bytes of inputs) {
      const ptr = wasm.wholesum_alloc(bytes.length)
      // Read the buffer after the allocation: growing memory replaces it.
      new Uint8Array(wasm.memory.buffer, ptr, bytes.length).set(bytes)
      ptrs.push(ptr)
    }
    // Freed only after a clean return: after a trap the instance is dropped whole.
    const status = run(ptrs)
    ptrs.forEach((ptr, i) => wasm.wholesum_free(ptr, inputs[i]!.length))
    return status
  }

  #live(): Exports {
    if (this.#instance === undefined) {
      const instance = new wasmApi.Instance(this.#module, {})
      this.#instance = instance.exports as unknown as Exports
    }
    return this.#instance
  }
}

function hexBytes(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2)
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return bytes
}
