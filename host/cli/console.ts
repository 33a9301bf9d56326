// Where a command writes: `out` for its results (stdout: a guest's output, a
// table, JSON), `note` for what it says about them (stderr, prefixed
// "migrant:"). Tests and callers that capture a command's output pass their own.

export interface Console {
  out(line: string): void;
  note(line: string): void;
}

export const stdio: Console = {
  out: (line) => process.stdout.write(line + "\n"),
  note: (line) => process.stderr.write(`migrant: ${line}\n`),
};
