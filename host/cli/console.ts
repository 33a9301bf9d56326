// Where a command writes: `out` for its results (stdout: a guest's output, a
// table, JSON), `note` for what it says about them (stderr, prefixed
// "migrant:"). Tests and callers that capture a command's output pass their own.

export interface Console {
  /** writes a line; a promise returned: the line waits to be written (a terminal that does not keep up), until it settles */
  out(line: string): void | Promise<void>;
  note(line: string): void;
}

export const stdio: Console = {
  out: (line) => (process.stdout.write(line + "\n") ? undefined : new Promise<void>((r) => process.stdout.once("drain", () => r()))),
  note: (line) => process.stderr.write(`migrant: ${line}\n`),
};
