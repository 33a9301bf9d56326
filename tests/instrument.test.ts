// The instrumented builds behave exactly like an uninstrumented build of the
// same source: same lines, same exit code, for every example guest and every
// module variant.

import { describe, expect, it } from "vitest";
import { buildPlain } from "../host/build/build.js";
import { GuestProcess } from "../host/process.js";
import { VARIANT_NAMES } from "../host/instrument/variants.js";
import { EXAMPLE_GUESTS, guestImage, runToEnd } from "./guests.js";
import { LocalMail } from "../host/messaging/local-mail.js";

describe.each(EXAMPLE_GUESTS)("$name", (g) => {
  it("prints and returns the same instrumented (every variant) as uninstrumented", async () => {
    const plain = await buildPlain(g.file, { stderr: process.stderr });
    const lines: string[] = [];
    const post = new LocalMail("A.1");
    const p = GuestProcess.startUninstrumented(new WebAssembly.Module(plain.wasm as Uint8Array<ArrayBuffer>), plain.layout, {
      pid: "A.1",
      node: "A",
      args: g.args,
      onOutput: (l) => lines.push(l),
      onMail: post.onMail,
    });
    post.attach(p);
    const baseline = await p.exited;
    expect(baseline.error).toBeNull();
    expect(lines.length).toBeGreaterThan(1);

    const image = await guestImage(g);
    for (const v of VARIANT_NAMES) {
      const run = await runToEnd(image, g.args, v);
      expect(run.status, `variant ${v}`).toEqual(baseline);
      expect(run.lines, `variant ${v}`).toEqual(lines);
    }
  });
});
