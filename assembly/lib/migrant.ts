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
// `send` and `recv` are freeze points too: a process waiting for a message, or
// for room in a full mailbox, can be frozen, moved, and wait on elsewhere.
// Messages between two processes arrive exactly once and in order, wherever
// either of them runs (docs/DESIGN.md, "Messages between processes").

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

@external("migrant", "send")
declare function host_send(to: string, data: ArrayBuffer): i32;

@external("migrant", "recv")
declare function host_recv(timeoutMs: i32): usize;

@external("migrant", "sender")
declare function host_sender(): usize;

@external("migrant", "register")
declare function host_register(name: string): i32;

@external("migrant", "whereis")
declare function host_whereis(name: string): usize;

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

/**
 * Sends `data` to a process, by pid ("A.17") or by a name it registered. Returns
 * once the message is in the receiver's mailbox; blocks (a freeze point) while
 * that mailbox is full. False only when the cluster knows no such process
 * exists or that it has ended (or the message could not be delivered within
 * the node's delivery bound, which the node logs).
 */
export function send(to: string, data: ArrayBuffer): bool {
  return host_send(to, data) != 0;
}

/** `send` of a string's UTF-8 bytes. */
export function sendText(to: string, text: string): bool {
  return host_send(to, String.UTF8.encode(text)) != 0;
}

/**
 * The next message, or null once `timeoutMs` has passed (a negative timeout
 * waits for ever). A freeze point: a process may move while it waits, and
 * waits on at its new node with the time it had left.
 */
export function recv(timeoutMs: i32): ArrayBuffer | null {
  const ptr = host_recv(timeoutMs);
  if (ptr == 0) return null;
  const data = changetype<ArrayBuffer>(ptr);
  __unpin(ptr);
  return data;
}

/** `recv`, the message read as UTF-8 text. */
export function recvText(timeoutMs: i32): string | null {
  const data = recv(timeoutMs);
  if (data === null) return null;
  return String.UTF8.decode(data);
}

/** The pid of the sender of the message received last ("" before the first). */
export function sender(): string {
  return adopt(host_sender());
}

/**
 * Gives this process a cluster-wide name that `send` and `whereis` accept. It
 * stays valid across migrations and is released when the process ends. False
 * if another live process holds the name, or this one has a name already.
 */
export function register(name: string): bool {
  return host_register(name) != 0;
}

/** The pid of the live process registered as `name`, or null. */
export function whereis(name: string): string | null {
  const ptr = host_whereis(name);
  if (ptr == 0) return null;
  return adopt(ptr);
}

/**
 * whereis, asked every 10 ms until the name is registered or `timeoutMs` has
 * passed (a partner started at the same time may not have registered yet).
 */
export function findName(name: string, timeoutMs: i32): string | null {
  let p = whereis(name);
  for (let waited = 0; p === null && waited < timeoutMs; waited += 10) {
    sleep(10);
    p = whereis(name);
  }
  return p;
}
