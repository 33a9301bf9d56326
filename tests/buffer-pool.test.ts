// The buffer pool of a migration's page stream (net/buffer-pool.ts): a buffer
// is never handed out twice while it is held, and a frame sent from the pool
// arrives whole even though its buffer is used again once the socket took it.

import { describe, expect, it } from "vitest";
import fc from "fast-check";
import WebSocket, { WebSocketServer } from "ws";
import { BufferPool } from "../host/net/buffer-pool.js";
import { Link, noMask } from "../host/net/link.js";
import type { MessageOf } from "../host/net/protocol.js";
import { batchMessage, openBatch } from "../host/migration/batch.js";
import { MiB } from "../host/text/size.js";
import "./seed.js";

const PAGE = 4096;

describe("BufferPool", () => {
  it("never hands out memory that is still held, and uses a given-back buffer again", () => {
    const ops = fc.array(fc.oneof(fc.record({ take: fc.integer({ min: 1, max: 64 * 1024 }) }), fc.record({ give: fc.nat() })), {
      maxLength: 60,
    });
    fc.assert(
      fc.property(ops, (list) => {
        const pool = new BufferPool(3);
        const held: Buffer[] = [];
        const free = new Set<ArrayBufferLike>(); // what the pool should hold now
        for (const op of list) {
          if ("take" in op) {
            const fits = [...free].some((f) => f.byteLength >= op.take);
            const b = pool.take(op.take);
            expect(b.length).toBe(op.take);
            expect(held.some((h) => h.buffer === b.buffer)).toBe(false);
            // a free buffer that fits is used again, not new memory
            expect(free.has(b.buffer)).toBe(fits);
            free.delete(b.buffer);
            held.push(b);
          } else if (held.length) {
            const [b] = held.splice(op.give % held.length, 1);
            pool.give(b);
            if (free.size < 3) free.add(b.buffer);
          }
        }
      }),
    );
  });

  it("keeps at most its bound of free buffers", () => {
    const pool = new BufferPool(2);
    const taken = [pool.take(10), pool.take(10), pool.take(10)];
    taken.forEach((b) => pool.give(b));
    const next = [pool.take(10), pool.take(10), pool.take(10)].map((b) => b.buffer);
    expect(next.filter((b) => taken.some((t) => t.buffer === b))).toHaveLength(2);
  });

  it("frames sent from a pool over a real WebSocket arrive whole, while their buffers are used again", async () => {
    const server = new WebSocketServer({ host: "127.0.0.1", port: 0, maxPayload: 64 * MiB });
    await new Promise((r) => server.once("listening", r));
    const accepted = new Promise<Link>((r) => server.once("connection", (ws) => r(new Link(ws, 64 * MiB))));
    const port = (server.address() as { port: number }).port;
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, { maxPayload: 64 * MiB, generateMask: noMask });
    await new Promise((r, j) => {
      ws.once("open", r);
      ws.once("error", j);
    });
    const sender = new Link(ws, 64 * MiB);
    const receiver = await accepted;
    try {
      const FRAMES = 24;
      const PAGES = 256; // 1 MiB a frame
      const got: Array<MessageOf<"migPages">> = [];
      const all = new Promise<void>((r) =>
        receiver.on("message", (m) => {
          if (m.t === "migPages") got.push(m);
          if (got.length === FRAMES) r();
        }),
      );
      const pool = new BufferPool();
      const memories = new Set<ArrayBufferLike>();
      const take = pool.take;
      const tracked = Object.assign(Object.create(pool) as BufferPool, {
        take: (n: number) => {
          const b = take(n);
          memories.add(b.buffer);
          return b;
        },
      });
      for (let i = 0; i < FRAMES; i++) {
        const data = tracked.take(PAGES * PAGE);
        data.fill(i + 1);
        sender.send(batchMessage(i, { indices: Uint32Array.from({ length: PAGES }, (_, k) => i * PAGES + k), data }), tracked);
        pool.give(data); // copied into its frame: free at once
        await sender.drain(2 * MiB, 10_000);
      }
      await all;
      got.forEach((m, i) => {
        expect(m.mid).toBe(i);
        const b = openBatch(m, PAGE);
        expect(b, `frame ${i} failed its checksum`).not.toBeNull();
        expect(b!.data.every((x) => x === i + 1)).toBe(true);
      });
      // the pool did its job: far fewer buffers than frames and batches
      expect(memories.size).toBeLessThan(FRAMES);
    } finally {
      sender.close();
      receiver.close();
      await new Promise((r) => server.close(r));
    }
  });
});
