// Writes resources/contracts/WholesumEscrow.json from the sources, and the ABI as a typed constant
// (src/abi.ts) so viem infers every call's arguments and results (npm run build:contracts).

import { writeFileSync } from 'node:fs'
import { ESCROW_ARTIFACT, abiModule, compileEscrow } from './compile.ts'

const artifact = compileEscrow()
writeFileSync(ESCROW_ARTIFACT, `${JSON.stringify(artifact, null, 2)}\n`)
writeFileSync(new URL('./abi.ts', import.meta.url), abiModule(artifact))
const size = (artifact.deployedBytecode.length - 2) / 2
console.log(
  `wrote ${ESCROW_ARTIFACT} and src/abi.ts: ${size} bytes deployed (limit 24,576), solc ${artifact.compiler.version}`,
)
