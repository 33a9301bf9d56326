// Messages for a process that runs alone, without a node (`migrant run` and
// `migrant resume` here, and the tests' harness): the only process there is
// is itself. A send to its own pid or name goes into its own mailbox, any
// other send returns false (no such process); register and whereis know only
// its own name. The mailbox is a real one (ProcessMail), so a snapshot taken
// here carries what is queued, and a resumed process receives it.

import type { GuestProcess, MailRequest } from "../process.js";
import { validName } from "./addresses.js";
import { ProcessMail, type MailState } from "./process-mail.js";

export class LocalMail {
  readonly mail: ProcessMail;

  constructor(
    private readonly pid: string,
    state?: MailState,
    private readonly note: (line: string) => void = () => undefined,
  ) {
    this.mail = new ProcessMail(undefined, state);
  }

  /** `gp` runs the process: it gets what is queued, and a send it was frozen in is carried on. */
  attach(gp: GuestProcess): void {
    this.mail.attach(gp);
    const p = this.mail.pending;
    if (p && p.result === null) this.deliver(p.n, p.to, p.data);
  }

  /** The GuestProcess option that serves the guest's messages. */
  readonly onMail = (m: MailRequest, gp: GuestProcess): void => {
    switch (m.t) {
      case "send":
        this.mail.send(m.n, m.to, m.data);
        this.deliver(m.n, m.to, m.data);
        return;
      case "took":
        this.mail.took(m.i);
        return;
      case "call": {
        const value = m.op === "register" ? this.register(m.arg) : this.isMe(m.arg) ? this.pid : null;
        gp.toInbox({ t: "answer", id: m.id, value });
        return;
      }
    }
  };

  private isMe(to: string): boolean {
    return to === this.pid || (this.mail.name !== null && to === this.mail.name);
  }

  private register(name: string): boolean {
    if (!validName(name) || (this.mail.name !== null && this.mail.name !== name)) return false;
    this.mail.name = name;
    return true;
  }

  private deliver(n: number, to: string, data: Uint8Array): void {
    const out = this.mail.pending!;
    if (!this.isMe(to)) return this.mail.complete(out, false);
    const r = this.mail.accept(this.pid, this.mail.sid, n, data, "local");
    // a process alone whose own mailbox is full could wait for ever: refuse instead
    if (r === "full") this.note(`process ${this.pid}: a message to itself does not fit its full mailbox; send returns false`);
    this.mail.complete(out, r !== "full");
  }
}
