// The module cache of a node: every module it has been sent, by SHA-256.
// A client's `run` and an incoming migration name a module by its hash; a
// module not cached is asked for (`needModule`), checked against its hash,
// loaded (Image: its variants compiled once, here) and kept.

import { createHash } from "node:crypto";
import { Image } from "../image.js";
import { RequestError } from "../errors.js";
import type { MessageLink } from "../net/link.js";
import type { MessageOf } from "../net/protocol.js";
import { formatSize } from "../text/size.js";

/** How long a node waits for a module it asked for. */
export const MODULE_WAIT_MS = 60_000;

export class ModuleCache {
  private readonly images = new Map<string, Image>();

  constructor(private readonly event: (line: string) => void) {}

  /**
   * The module with this SHA-256: from the cache, or asked of the peer
   * (`needModule` with request id `req`), received by `receive`, checked
   * against its hash and cached.
   */
  async get(link: MessageLink, req: number, hash: string, name: string, receive: () => Promise<MessageOf<"module">>): Promise<Image> {
    const cached = this.images.get(hash);
    if (cached) return cached;
    link.send({ t: "needModule", req, hash });
    const got = await receive();
    const actual = createHash("sha256").update(got.bytes).digest("hex");
    if (actual !== hash) {
      throw new RequestError("bad-module", `the module sent does not match its hash (${actual.slice(0, 12)} != ${hash.slice(0, 12)})`);
    }
    const image = Image.fromBytes(got.bytes, name);
    this.images.set(hash, image);
    this.event(`module ${name} received (${formatSize(got.bytes.length)}), cached as ${hash.slice(0, 12)}`);
    return image;
  }
}
