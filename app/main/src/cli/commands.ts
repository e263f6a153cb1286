// The subcommands: their usage, and where their code lives. A command's modules are imported only
// when it runs, so `wholesum --help` or `wholesum jobs` does not load the core, libp2p or the prover.

export interface CommandContext {
  /** WHOLESUM_HOME, or ~/.wholesum. */
  readonly home: string
}

export type CommandRun = (argv: readonly string[], context: CommandContext) => Promise<number>

export interface Command {
  readonly usage: string
  readonly load: () => Promise<CommandRun>
}

const PROGRAM_NOTE =
  '<program> is a RISC Zero program binary or a riscv32im guest ELF (wrapped with the v1compat kernel).'

export const COMMANDS: Readonly<Record<string, Command>> = {
  node: {
    usage: `wholesum node [--role client,prover,verifier,bootstrap] [--listen MULTIADDR]... [--bootstrap MULTIADDR]... [--api-port N]
  Runs this home's node until SIGTERM or Ctrl-C: one libp2p node and job store with the given roles
  (default: client,prover), and the local API on 127.0.0.1 (port 0 picks one; written to
  <home>/api.json, token in <home>/api-token). Prints one JSON line {"ready":…} when it listens.
  --listen defaults to /ip4/127.0.0.1/tcp/0; --bootstrap takes /ip4/…/tcp/…/p2p/<peer ID>.`,
    load: async () => (await import('./commands/node.ts')).node,
  },
  submit: {
    usage: `wholesum submit <program> --input <file> [--po2 N] [--price WEI] [--deadline SECONDS]
                [--max-provers N] [--succinct] [--wait] [--out DIR] [--json]
  Submits a job to the running node (started with the client role) and prints its ID. With --wait,
  shows its progress until it ends, then writes receipt.bin, journal.bin, stdout.log, stderr.log,
  events.jsonl and job.json into --out (default ./wholesum-<job ID prefix>).
  ${PROGRAM_NOTE}`,
    load: async () => (await import('./commands/client.ts')).submit,
  },
  jobs: {
    usage: `wholesum jobs [--status S[,S…]] [--role client|prover] [--limit N] [--json]
  Lists the node's jobs, newest first.`,
    load: async () => (await import('./commands/client.ts')).jobs,
  },
  job: {
    usage: `wholesum job <job ID> [--json]
  One job: status, segments and who proved them, deals, cost, outputs. A unique prefix of the
  ID will do.`,
    load: async () => (await import('./commands/client.ts')).job,
  },
  watch: {
    usage: `wholesum watch <job ID> [--json]
  Follows a job's events live until it ends (a progress bar on a terminal, one line per event
  elsewhere, JSON lines with --json). Exit code 0 when it ends done.`,
    load: async () => (await import('./commands/client.ts')).watch,
  },
  cancel: {
    usage: `wholesum cancel <job ID>
  Cancels a job of this node's client: its provers stop and their claims are released.`,
    load: async () => (await import('./commands/client.ts')).cancel,
  },
  earnings: {
    usage: `wholesum earnings [--job <job ID>] [--role prover|verifier|client] [--json]
  The node's earnings ledger, newest first: per job and party, what was earned, paid, slashed or
  refused and why, with the last transaction; amounts in ETH (exact wei with --json), totals at
  the bottom. A unique prefix of the job ID (8 digits or more) will do.`,
    load: async () => (await import('./commands/earnings.ts')).earnings,
  },
  ui: {
    usage: `wholesum ui [--json]
  Prints a one-time URL that opens the desktop UI in any browser, logged in to the running node
  (browser mode: the node serves the UI on its API port, 127.0.0.1 only). The URL works once,
  within two minutes. On a headless rig, tunnel the port: ssh -L PORT:127.0.0.1:PORT rig.`,
    load: async () => (await import('./commands/client.ts')).ui,
  },
  receipt: {
    usage: `wholesum receipt <job ID> [--out DIR]
  Writes a done job's receipt.bin, journal.bin, stdout.log, stderr.log, events.jsonl and job.json
  into DIR (default ./wholesum-<job ID prefix>).`,
    load: async () => (await import('./commands/client.ts')).receipt,
  },
  prove: {
    usage: `wholesum prove --local <program> --input <file> [--po2 N] [--out DIR] [--image-id HEX] [--keep-segments] [--json]
  Executes and proves on this machine only, then verifies the receipt.
  ${PROGRAM_NOTE}`,
    load: async () => (await import('./commands/local.ts')).prove,
  },
  verify: {
    usage: `wholesum verify <receipt> --image-id <hex> [--journal <file>] [--json]
  Verifies a receipt file against an image ID (and a journal). Exit code 3 when it does not verify.`,
    load: async () => (await import('./commands/local.ts')).verify,
  },
  devnet: {
    usage: `wholesum devnet [--provers N] [--verifiers V] [--quorum M] [--unpaid] [--program P]
                [--input F] [--po2 N] [--price WEI] [--out DIR] [--liar corrupt|wrong-segment]
                [--timeout-s S] [--json]
  Starts daemons on loopback (a bootstrap node, N provers, V verifiers (default 3), a client) and
  a local chain (anvil) with the escrow, submits a job through the client's API and shows it being
  proved with a live segment map; a quorum of M verifiers (default a majority) attests to the
  receipt, the job settles on the escrow, and the earnings and balances of every node are printed.
  --unpaid (or --verifiers 0) runs without a chain. --out (default out/devnet) must be empty,
  absent, or a devnet's earlier output.`,
    load: async () => (await import('./devnet.ts')).devnet,
  },
  'image-id': {
    usage: `wholesum image-id <program>
  Prints the program's image ID.`,
    load: async () => (await import('./commands/local.ts')).imageId,
  },
  capabilities: {
    usage: `wholesum capabilities
  What the active prover plugin can do on this machine (receipt kinds, accelerator, limits).`,
    load: async () => (await import('./commands/local.ts')).capabilities,
  },
  plugins: {
    usage: `wholesum plugins list | install <folder|.tgz> | enable <name> | disable <name> | uninstall <name>`,
    load: async () => (await import('./commands/plugins.ts')).plugins,
  },
}

export const USAGE = `wholesum: verifiable computing with RISC Zero, headless

usage:
${Object.values(COMMANDS)
  .map((c) => '  ' + c.usage.split('\n')[0])
  .join('\n')}

\`wholesum <command> --help\` explains one command.
${PROGRAM_NOTE}
Environment: WHOLESUM_HOME (data dir, default ~/.wholesum), WHOLESUM_LOG (debug|info|warn|error|silent),
WHOLESUM_RISC0_WORKER (path of the risc0 worker binary).

exit codes: 0 ok, 1 failure, 2 bad usage or bad input, 3 verification failed`
