// How a process is addressed: by its pid, which names the node it was created
// on (its origin) and that node's counter, or by a cluster-wide name it
// registered. A name may not look like a pid, so `send` can tell them apart.

/** What an address must look like to be a pid: a node name, a dot, a counter. */
export const PID = /^[A-Za-z0-9_-]{1,32}\.\d{1,15}$/;

/** The node a pid was created on (its origin). */
export const originOf = (pid: string): string => pid.slice(0, pid.lastIndexOf("."));

/** The counter of a pid (A.17: 17); NaN if there is none. */
export const counterOf = (pid: string): number => (PID.test(pid) ? Number(pid.slice(pid.lastIndexOf(".") + 1)) : NaN);

/** A registered name: 1-64 printable characters (no spaces) that do not look like a pid. */
export const validName = (name: string): boolean => /^[\x21-\x7e]{1,64}$/.test(name) && !PID.test(name);
