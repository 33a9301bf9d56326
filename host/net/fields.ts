// The kinds of field a protocol message is made of (see protocol.ts for how
// each is laid out on the wire, and messages.ts for the messages).
//
//   u32, i32, f64   numbers, little-endian
//   str             UTF-8 text
//   bytes           raw bytes
//   json(shape)     UTF-8 JSON, checked against its shape (shape.ts) when it is
//                   decoded: a receiver gets a value of the shape's type or nothing

import type { Shape } from "./shape.js";

export const u32 = { kind: "u32" } as const;
export const i32 = { kind: "i32" } as const;
export const f64 = { kind: "f64" } as const;
export const str = { kind: "str" } as const;
export const bytes = { kind: "bytes" } as const;

export interface JsonField<T> {
  kind: "json";
  shape: Shape<T>;
}

export const json = <T>(shape: Shape<T>): JsonField<T> => ({ kind: "json", shape });

export type Field = typeof u32 | typeof i32 | typeof f64 | typeof str | typeof bytes | JsonField<unknown>;

/** The TypeScript type a field decodes to. */
export type FieldType<F> = F extends { kind: "u32" | "i32" | "f64" }
  ? number
  : F extends { kind: "str" }
    ? string
    : F extends { kind: "bytes" }
      ? Uint8Array
      : F extends JsonField<infer T>
        ? T
        : never;
