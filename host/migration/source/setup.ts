// Setup, the first phase of every migration: `migBegin` tells the destination
// the process (its module by hash, and what it needs to list it); the
// destination checks its limits, asks for the module if it lacks it
// (`needModule`, answered with `module`), starts a warm worker, and accepts
// (`migAccept`) or refuses (`migRefuse`). Nothing has happened to the process.

import { STEP_MS, type Emigration } from "./emigration.js";

export async function setup(m: Emigration): Promise<void> {
  const { ctx } = m;
  m.link.send({
    t: "migBegin",
    mid: ctx.mid,
    pid: ctx.pid,
    module: ctx.module,
    hash: ctx.image.hash,
    info: { ...ctx.info, strategy: m.stats.strategy },
  });
  let r = await m.mailbox.next(["migAccept", "migRefuse", "needModule"], STEP_MS);
  if (r.t === "needModule") {
    m.link.send({ t: "module", req: ctx.mid, hash: ctx.image.hash, bytes: ctx.image.bytes });
    r = await m.mailbox.next(["migAccept", "migRefuse"], STEP_MS);
  }
  if (r.t === "migRefuse") m.refusedBy(r.reason, "refused");
  m.stats.setupMs = performance.now() - m.startedAt;
  m.checkCancelled();
}
