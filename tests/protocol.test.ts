// Property tests of the wire protocol: every message round-trips, and the
// decoder answers any other input (random, truncated, mutated, lying about its
// length, oversized) with a ProtocolError, never another exception or a hang.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decode, encode, MESSAGES, MESSAGE_TYPES, ProtocolError, type Message } from "../host/net/protocol.js";
import type { Field } from "../host/net/fields.js";
import { PAYLOADS } from "./payloads.js";
import { NO_MAIL_COUNTERS } from "../host/cluster/views.js";
import "./seed.js";

const fieldsOf = (t: string) => Object.entries(MESSAGES[t as keyof typeof MESSAGES]) as Array<[string, Field]>;

/** A value for field `name` of message `t`: any the kind holds, or for JSON one its shape accepts. */
const field = (t: string, name: string, kind: Field["kind"]): fc.Arbitrary<unknown> => {
  switch (kind) {
    case "u32":
      return fc.integer({ min: 0, max: 0xffffffff });
    case "i32":
      return fc.integer({ min: -0x80000000, max: 0x7fffffff });
    case "f64":
      return fc.double({ noNaN: true });
    case "str":
      return fc.string({ unit: "binary" });
    case "bytes":
      return fc.uint8Array({ maxLength: 512 });
    case "json": {
      const payload = PAYLOADS[`${t}.${name}`];
      if (!payload) throw new Error(`tests/payloads.ts has no arbitrary for ${t}.${name}`);
      // as JSON carries it (-0 becomes 0)
      return payload.map((v) => JSON.parse(JSON.stringify(v)) as unknown);
    }
  }
};

const messageOf = (t: string, json: (t: string, name: string) => fc.Arbitrary<unknown> | null = () => null): fc.Arbitrary<Message> => {
  const fields = fieldsOf(t);
  return fc.tuple(...fields.map(([name, f]) => (f.kind === "json" && json(t, name)) || field(t, name, f.kind))).map((values) => {
    const m: Record<string, unknown> = { t };
    fields.forEach(([name], i) => (m[name] = values[i]));
    return m as Message;
  });
};

const message: fc.Arbitrary<Message> = fc.constantFrom(...MESSAGE_TYPES).chain((t) => messageOf(t));

/** Messages whose JSON fields hold any JSON at all (what a hostile or broken peer may send). */
const anyJson = fc
  .constantFrom(...MESSAGE_TYPES.filter((t) => fieldsOf(t).some(([, f]) => f.kind === "json")))
  .chain((t) => messageOf(t, () => fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown)));

/** Decoding must either succeed or throw a ProtocolError. */
function decodesOrRefuses(bytes: Uint8Array, max = Infinity): void {
  try {
    decode(bytes, max);
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
  }
}

describe("protocol", () => {
  it("decodes every encoded message to itself", () => {
    fc.assert(
      fc.property(message, (m) => {
        const back = decode(encode(m)) as unknown as Record<string, unknown>;
        expect(Object.keys(back).sort()).toEqual(Object.keys(m).sort());
        for (const [k, v] of Object.entries(m)) {
          if (v instanceof Uint8Array) expect(Array.from(back[k] as Uint8Array)).toEqual(Array.from(v));
          else expect(back[k]).toEqual(v);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("refuses random bytes with a ProtocolError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (b) => decodesOrRefuses(b)),
      { numRuns: 2000 },
    );
  });

  it("refuses every truncation of a valid frame", () => {
    fc.assert(
      fc.property(message, fc.nat(), (m, cut) => {
        const b = encode(m);
        const n = cut % b.length;
        expect(() => decode(b.subarray(0, n))).toThrow(ProtocolError);
      }),
      { numRuns: 500 },
    );
  });

  it("answers mutated frames with a message or a ProtocolError", () => {
    fc.assert(
      fc.property(message, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (m, edits) => {
        const b = Buffer.from(encode(m));
        for (const [at, v] of edits) b[at % b.length] = v;
        decodesOrRefuses(b);
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses JSON fields that do not fit their shape, naming the field", () => {
    fc.assert(
      fc.property(anyJson, (m) => {
        try {
          decode(encode(m)); // it happened to fit
        } catch (e) {
          expect(e).toBeInstanceOf(ProtocolError);
          expect((e as ProtocolError).reason).toBe("field");
          expect((e as Error).message.startsWith(`${m.t}.`)).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
    const bad = encode({
      t: "heartbeat",
      name: "B",
      state: { url: "ws://x", loopMs: 0, memory: -1, maxMemory: 0, cpus: 1, demand: 0, procs: [], mail: NO_MAIL_COUNTERS },
    });
    expect(() => decode(bad)).toThrow(/^heartbeat\.state\.memory: /);
  });

  it("names what is wrong: version, type, lying length, oversized", () => {
    const good = encode({ t: "psRequest", req: 1 });
    const v = Buffer.from(good);
    v[0] = 9;
    expect(() => decode(v)).toThrow(expect.objectContaining({ reason: "version" }));
    const t = Buffer.from(good);
    t[1] = 200;
    expect(() => decode(t)).toThrow(expect.objectContaining({ reason: "type" }));
    const lie = Buffer.from(good);
    lie.writeUInt32LE(1_000_000, 2);
    expect(() => decode(lie)).toThrow(expect.objectContaining({ reason: "length" }));
    expect(() => decode(encode({ t: "module", req: 1, hash: "h", bytes: new Uint8Array(5000) }), 4096)).toThrow(
      expect.objectContaining({ reason: "oversized" }),
    );
  });
});
