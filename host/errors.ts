// Typed errors. Each says what went wrong and what to do next; the CLI prints
// `message` alone (never a stack trace) and exits with `exitCode`.

export class MigrantError extends Error {
  readonly exitCode: number = 2;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * Why a node refused a request: the `code` of an error frame. Clients branch
 * on the code, never on the wording of the message (which is for people).
 */
export const ERROR_CODES = [
  /** no process of that pid on the node asked (it may have moved on: look again) */
  "no-such-process",
  /** the process exists but has ended */
  "not-running",
  /** the node's limits (--max-procs, --max-memory) leave no room */
  "node-full",
  /** the node is stopping and takes no new work */
  "stopping",
  /** the node named is not an up member of the cluster */
  "no-such-node",
  /** the process is busy with another migration (or still receiving its pages) */
  "busy",
  /** a module that is not a migratable module, or does not match its hash */
  "bad-module",
  /** a request this node does not take (a client sent a node's message, say) */
  "bad-request",
  /** anything else: a bug, reported with its message */
  "internal",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** A request a node refused, with its code; thrown on the node, and again by the client that gets the error frame. */
export class RequestError extends MigrantError {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Bad command-line input or options. */
export class UsageError extends MigrantError {}

/** The AssemblyScript compiler rejected the guest (it already printed why). */
export class CompileError extends MigrantError {}

/** A .wasm file that is not a migratable module of this version. */
export class ModuleFormatError extends MigrantError {}

/** A snapshot file that is truncated, corrupted or of another version. */
export class SnapshotFormatError extends MigrantError {}

/** The Asyncify buffer could not hold the guest's stack at a freeze. */
export class AsyncifyOverflowError extends MigrantError {
  constructor(
    readonly needed: number,
    readonly capacity: number,
    readonly kept: boolean,
  ) {
    super(
      `cannot freeze: the guest's stack needs ${needed} bytes of Asyncify buffer but the module reserves ${capacity}; ` +
        `rebuild it with \`migrant build --asyncify-stack ${roundUp(needed * 2)}\`` +
        (kept ? " (the process keeps running)" : " (the overflow overwrote guest memory: the process cannot continue)"),
    );
  }
}

/** A freeze or restore asked of a process in a state that does not allow it. */
export class ProcessStateError extends MigrantError {}

function roundUp(n: number): string {
  const kib = Math.ceil(n / 1024 / 64) * 64;
  return kib >= 1024 && kib % 1024 === 0 ? `${kib / 1024}M` : `${kib}K`;
}
