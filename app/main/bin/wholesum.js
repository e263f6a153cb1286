#!/usr/bin/env node
// Launcher for the `wholesum` command; needs Node 24+ (type stripping runs the TypeScript sources).
const [major] = process.versions.node.split('.').map(Number)
if (major < 24) {
  process.stderr.write(
    `wholesum needs Node 24 or newer (found ${process.version}); run it through npm scripts or node_modules/.bin/node\n`,
  )
  process.exit(1)
}
const { main } = await import('../src/cli/main.ts')
process.exitCode = await main(process.argv.slice(2))
