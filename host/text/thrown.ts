// What a thrown value says, for a log line or an error frame: anything may be
// thrown or rejected with (an Error, a string, null), and reading `.message`
// of what is not an Error would throw again where nothing may.

export function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  try {
    return String(e);
  } catch {
    return "an unprintable value";
  }
}
