// Turns what a guest threw into one line a person can read.

/** Thrown by the exit import: the guest asked to end with `code`. */
export class GuestExit {
  constructor(readonly code: number) {}
}

/** Thrown by AssemblyScript's abort import (assertion, bounds check, ...). */
export class GuestAbort {
  constructor(readonly message: string) {}
}

export function describeTrap(e: unknown): string {
  if (e instanceof GuestAbort) return e.message;
  if (e instanceof WebAssembly.RuntimeError) return `trap: ${e.message}`;
  if (e instanceof RangeError && /call stack/i.test(e.message)) return "trap: call stack exhausted (stack overflow)";
  if (e instanceof Error) return `host error: ${e.message}`;
  return `host error: ${String(e)}`;
}
