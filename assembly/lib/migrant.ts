// The guest library of migrant: what a guest program imports as `from "migrant"`.
//
// Every function here is a thin wrapper over an import of the host module
// "migrant". Strings cross the boundary through @assemblyscript/loader's
// helpers on the host side: the host reads a guest string with __getString,
// and hands a string to the guest by allocating it with __newString and
// pinning it (__pin) so that the collector cannot free it before the guest
// holds it; the wrapper takes the pointer, keeps the object in a managed local
// and unpins it at once.
//
// `sleep` is a freeze point: the host may capture the process while it sleeps
// and resume it elsewhere with the remaining time (never an absolute clock).

@external("migrant", "print")
declare function host_print(s: string): void;

@external("migrant", "sleep")
declare function host_sleep(ms: i32): void;

@external("migrant", "now")
declare function host_now(): f64;

@external("migrant", "pid")
declare function host_pid(): usize;

@external("migrant", "node")
declare function host_node(): usize;

@external("migrant", "argc")
declare function host_argc(): i32;

@external("migrant", "argv")
declare function host_argv(i: i32): usize;

@external("migrant", "exit")
declare function host_exit(code: i32): void;

/** Takes ownership of a string the host allocated and pinned for us. */
function adopt(ptr: usize): string {
  const s = changetype<string>(ptr);
  __unpin(ptr);
  return s;
}

/** Prints one line to the process's stdout (exactly the line, no prefix). */
export function print(s: string): void {
  host_print(s);
}

/** Blocks for `ms` milliseconds. A freeze point. */
export function sleep(ms: i32): void {
  if (ms > 0) host_sleep(ms);
}

/** Milliseconds of the wall clock of the node the process runs on now. */
export function now(): f64 {
  return host_now();
}

/** The process id, which never changes, e.g. "A.17". */
export function pid(): string {
  return adopt(host_pid());
}

/** The name of the node the process runs on now (changes after a migration). */
export function node(): string {
  return adopt(host_node());
}

/** The arguments after the program on the command line. */
export function args(): string[] {
  const n = host_argc();
  const out = new Array<string>(0);
  for (let i = 0; i < n; i++) out.push(adopt(host_argv(i)));
  return out;
}

/** Ends the process with `code`. Does not return. */
export function exit(code: i32): void {
  host_exit(code);
  unreachable();
}
