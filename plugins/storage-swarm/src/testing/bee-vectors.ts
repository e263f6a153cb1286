// Test data: Bee's own file-hashing vectors, copied from the Bee v2.7.0 sources.

/**
 * Bee's file hashing vectors (bee v2.7.0, pkg/file/testing/vector.go): data byte i is i % 255
 * (go-mockbytes SequentialBytes, seed 0, modulus 255); the expected /bytes reference per length.
 * The two 64 MiB vectors (128·128 chunks, and +32 bytes) are checked against a real Bee in
 * store.test.ts.
 */
export const BEE_VECTORS: ReadonlyArray<readonly [number, string]> = [
  [31, 'ece86edb20669cc60d142789d464d57bdf5e33cb789d443f608cbd81cfa5697d'],
  [32, '0be77f0bb7abc9cd0abed640ee29849a3072ccfd1020019fe03658c38f087e02'],
  [33, '3463b46d4f9d5bfcbf9a23224d635e51896c1daef7d225b86679db17c5fd868e'],
  [63, '95510c2ff18276ed94be2160aed4e69c9116573b6f69faaeed1b426fea6a3db8'],
  [64, '490072cc55b8ad381335ff882ac51303cc069cbcb8d8d3f7aa152d9c617829fe'],
  [65, '541552bae05e9a63a6cb561f69edf36ffe073e441667dbf7a0e9a3864bb744ea'],
  [4096, 'c10090961e7682a10890c334d759a28426647141213abda93b096b892824d2ef'],
  [4096 + 31, '91699c83ed93a1f87e326a29ccd8cc775323f9e7260035a5f014c975c5f3cd28'],
  [4096 + 32, '73759673a52c1f1707cbb61337645f4fcbd209cdc53d7e2cedaaa9f44df61285'],
  [4096 + 63, 'db1313a727ffc184ae52a70012fbbf7235f551b9f2d2da04bf476abe42a3cb42'],
  [4096 + 64, 'ade7af36ac0c7297dc1c11fd7b46981b629c6077bce75300f85b02a6153f161b'],
  [4096 * 2, '29a5fb121ce96194ba8b7b823a1f9c6af87e1791f824940a53b5a7efe3f790d9'],
  [4096 * 2 + 32, '61416726988f77b874435bdd89a419edc3861111884fd60e8adf54e2f299efd6'],
  [4096 * 128, '3047d841077898c26bbe6be652a2ec590a5d9bd7cd45d290ea42511b48753c09'],
  [4096 * 128 + 31, 'e5c76afa931e33ac94bce2e754b1bb6407d07f738f67856783d93934ca8fc576'],
  [4096 * 128 + 32, '485a526fc74c8a344c43a4545a5987d17af9ab401c0ef1ef63aefcc5c2c086df'],
  [4096 * 128 + 64, '624b2abb7aefc0978f891b2a56b665513480e5dc195b4a66cd8def074a6d2e94'],
  [4096 * 129, 'b8e1804e37a064d28d161ab5f256cc482b1423d5cd0a6b30fde7b0f51ece9199'],
  [4096 * 130, '59de730bf6c67a941f3b2ffa2f920acfaa1713695ad5deea12b4a121e5f23fa1'],
]
export const BEE_VECTOR_64MIB = [
  4096 * 128 * 128,
  '522194562123473dcfd7a457b18ee7dee8b7db70ed3cfa2b73f348a992fdfd3b',
] as const
export const BEE_VECTOR_64MIB_32 = [
  4096 * 128 * 128 + 32,
  'ed0cc44c93b14fef2d91ab3a3674eeb6352a42ac2f0bbe524711824aae1e7bcc',
] as const

export function vectorBytes(length: number, from = 0): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = (from + i) % 255
  return out
}
