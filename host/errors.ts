// Typed errors. Each says what went wrong and what to do next; the CLI prints
// `message` alone (never a stack trace) and exits with `exitCode`.

export class MigrantError extends Error {
  readonly exitCode: number = 2;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
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
