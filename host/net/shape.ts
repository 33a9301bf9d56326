// Shapes: what a JSON value that arrives from elsewhere must look like, and the
// TypeScript type it has once checked. A shape's check() returns the value
// (objects keep only the keys the shape names) or throws a ShapeError that
// names the path and what was expected. The protocol checks every JSON field
// with its shape where it enters (protocol.ts).
//
// Hand-written rather than a schema library: the few kinds below are all the
// protocol needs, and loading zod doubled the start-up of every CLI command
// (about 100 ms of its 180).

export class ShapeError extends Error {
  constructor(
    readonly path: string,
    readonly expected: string,
    got: unknown,
  ) {
    super(`${path}: expected ${expected}, got ${describe(got)}`);
  }
}

export interface Shape<T> {
  check(v: unknown, path: string): T;
}

/** A shape whose key an object may leave out. */
export interface OptionalShape<T> extends Shape<T | undefined> {
  optional: true;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  return typeof v === "object" ? "an object" : String(v);
}

const shape = <T>(expected: string, ok: (v: unknown) => boolean): Shape<T> => ({
  check(v, path) {
    if (!ok(v)) throw new ShapeError(path, expected, v);
    return v as T;
  },
});

export const string: Shape<string> = shape("a string", (v) => typeof v === "string");
export const boolean: Shape<boolean> = shape("true or false", (v) => typeof v === "boolean");

/** A finite number, with optional bounds; `int`: a whole number. */
export function number(o: { min?: number; above?: number; max?: number; int?: boolean } = {}): Shape<number> {
  const what = [
    o.int ? "a whole number" : "a number",
    o.min !== undefined ? `>= ${o.min}` : "",
    o.above !== undefined ? `> ${o.above}` : "",
    o.max !== undefined ? `<= ${o.max}` : "",
  ];
  return shape(what.filter(Boolean).join(" "), (v) => {
    if (typeof v !== "number" || !Number.isFinite(v)) return false;
    if (o.int && !Number.isInteger(v)) return false;
    return (o.min === undefined || v >= o.min) && (o.above === undefined || v > o.above) && (o.max === undefined || v <= o.max);
  });
}

/** A count: a whole number >= 0. */
export const count = number({ int: true, min: 0 });
/** An amount (bytes, milliseconds, a rate): a number >= 0. */
export const amount = number({ min: 0 });
/** A share of one core: a number from 0 to 1. */
export const share = number({ min: 0, max: 1 });
/** A node's CPU capacity (--cpus): how many processes it runs at full speed. */
export const cpus = number({ above: 0, max: 4096 });

/** One of these strings. */
export function oneOf<const T extends string>(values: readonly T[]): Shape<T> {
  return shape(`one of ${values.join(", ")}`, (v) => values.includes(v as T));
}

export function nullable<T>(s: Shape<T>): Shape<T | null> {
  return { check: (v, path) => (v === null ? null : s.check(v, path)) };
}

export function optional<T>(s: Shape<T>): OptionalShape<T> {
  return { optional: true, check: (v, path) => (v === undefined ? undefined : s.check(v, path)) };
}

export function either<A, B>(a: Shape<A>, b: Shape<B>, expected: string): Shape<A | B> {
  return {
    check(v, path) {
      for (const s of [a, b]) {
        try {
          return s.check(v, path);
        } catch {
          /* the other one, then */
        }
      }
      throw new ShapeError(path, expected, v);
    },
  };
}

export function array<T>(item: Shape<T>): Shape<T[]> {
  return {
    check(v, path) {
      if (!Array.isArray(v)) throw new ShapeError(path, "an array", v);
      return v.map((x, i) => item.check(x, `${path}.${i}`));
    },
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** An object used as a map: any keys, each value of one shape. */
export function record<T>(value: Shape<T>): Shape<Record<string, T>> {
  return {
    check(v, path) {
      if (!isObject(v)) throw new ShapeError(path, "an object", v);
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, value.check(x, `${path}.${k}`)]));
    },
  };
}

type Fields = Record<string, Shape<unknown>>;
type Out<S> = S extends Shape<infer T> ? T : never;
type OptionalKeys<F> = { [K in keyof F]: F[K] extends OptionalShape<unknown> ? K : never }[keyof F];
type ObjectOf<F extends Fields> = { [K in Exclude<keyof F, OptionalKeys<F>>]: Out<F[K]> } & {
  [K in OptionalKeys<F>]?: Exclude<Out<F[K]>, undefined>;
};

/** An object with these keys (others are dropped; an optional key may be missing). */
export function object<F extends Fields>(fields: F): Shape<ObjectOf<F>> {
  return {
    check(v, path) {
      if (!isObject(v)) throw new ShapeError(path, "an object", v);
      const out: Record<string, unknown> = {};
      for (const [k, s] of Object.entries(fields)) {
        const x = s.check(v[k], `${path}.${k}`);
        if (x !== undefined) out[k] = x;
      }
      return out as ObjectOf<F>;
    },
  };
}
