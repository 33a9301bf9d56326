// Locating a process: every up member is asked where the process is (`locate`)
// and says "here", "arriving" (a migration to it is under way: it holds the
// message until the process is there), "ended", or "none". The first "here"
// settles it; "arriving" is taken only if no member has it running (the
// process may run on at its source for a whole pre-copy). Resending locates a process after every return;
// update does so when a holder missed an update.
//
// "Nobody has it" is said only after asking twice, a moment apart: a process
// moving between the two nodes' answers could otherwise be missed by both
// (the destination answered before the migration began, the source after it
// ended). A member that does not answer makes the answer "unreachable", so the
// sender's node tries again later instead of saying the process does not exist.

import type { Peers } from "../peers.js";
import { Queries } from "../queries.js";
import type { Router } from "../router.js";
import type { Location } from "./outcomes.js";
import { PID } from "../../messaging/addresses.js";

/** How long a locate waits for the members' answers. */
const LOCATE_MS = 1000;
/** The pause before the second question, when nobody had it. */
const AGAIN_MS = 50;

export type Located = { node: string } | "ended" | "unknown" | "unreachable";

export class Locator {
  private readonly queries: Queries<Location>;

  constructor(
    private readonly self: string,
    private readonly peers: Peers,
    router: Router,
    /** where this node says the process is */
    private readonly where: (pid: string) => Location,
    private readonly control: () => void,
  ) {
    this.queries = new Queries(peers);
    router.on("node", "locate", (link, m) => {
      if (!PID.test(m.pid)) return; // nobody could be there: not answered (the asker's locate times out)
      link.send({ t: "located", qid: m.qid, pid: m.pid, where: where(m.pid) });
      control();
    });
    router.on("node", "located", (link, m) => this.queries.answer(link.peer, m.qid, m.where));
  }

  async locate(pid: string): Promise<Located> {
    for (let round = 0; round < 2; round++) {
      if (round) await new Promise((r) => setTimeout(r, AGAIN_MS));
      const mine = this.where(pid);
      if (mine === "here") return { node: this.self };
      for (let i = this.peers.membership.links().length; i > 0; i--) this.control();
      // "here" settles it at once; "arriving" only if nobody has it running (it may be in pre-copy for a while)
      const { answers, silent } = await this.queries.ask(
        (qid) => ({ t: "locate", qid, pid }),
        LOCATE_MS,
        (w) => w === "here",
      );
      const all: Array<[string, Location]> = [[this.self, mine], ...answers];
      const at = all.find(([, w]) => w === "here") ?? all.find(([, w]) => w === "arriving");
      if (at) return { node: at[0] };
      if (all.some(([, w]) => w === "ended")) return "ended";
      if (silent.length) return "unreachable";
    }
    return "unknown";
  }
}
