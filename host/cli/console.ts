// Where a command writes: `out` for its results (stdout: a guest's output, a
// table, JSON), `note` for what it says about them (stderr, prefixed
// "migrant:"). Tests and callers that capture a command's output pass their own.

import { RING } from "../cluster/output-log.js";
export interface Console {
  /** writes a line; a promise returned: the line waits to be written (a terminal that does not keep up), until it settles */
  out(line: string): void | Promise<void>;
  note(line: string): void;
}

/**
 * Writes lines to `stream`: undefined once a line is taken, or, while the
 * stream's buffer is full (a pipe or terminal that does not keep up), the one
 * promise of its next drain, for the caller to wait on.
 */
export function lineWriter(stream: NodeJS.WritableStream): (line: string) => Promise<void> | undefined {
  let full: Promise<void> | null = null;
  return (line) => {
    if (stream.write(line + "\n") && !full) return undefined;
    full ??= new Promise<void>((r) =>
      stream.once("drain", () => {
        full = null;
        r();
      }),
    );
    return full;
  };
}

/** What a follower says of lines its node no longer kept (a reader dropped for not reading, an attach --from too far back). */
export const gapNote =
  (note: (line: string) => void) =>
  (pid: string, first: number, last: number): void =>
    note(`lines ${first}-${last} of ${pid} are no longer kept by its node (it keeps the last ${RING}); going on from line ${last + 1}`);

export const stdio: Console = {
  out: lineWriter(process.stdout),
  note: (line) => process.stderr.write(`migrant: ${line}\n`),
};
