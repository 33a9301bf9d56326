// Whether a mailbox that arrives from elsewhere (a migration's handover, a
// snapshot file) is one a process could have: its shape has been checked
// already (MAIL_STATE); here its values, against the guest's cursor in the
// same frozen state. Queued messages are numbered past what the guest
// received and below the next number, in order; each within MAX_MESSAGE and
// all within what a mailbox holds; the send under way is the one after the
// last the guest completed; counts and names within generous bounds (a
// mailbox keeps far less); a registered name is a name.

import { validName } from "./addresses.js";
import { MAX_BYTES, MAX_MESSAGE, type MailState } from "./process-mail.js";
import type { MailCursor } from "../worker/messages.js";

/** Longest sender id, pid, node name or address a mailbox may carry. */
const MAX_NAME = 255;
const MAX_LETTERS = 1 << 20;
const MAX_SENDERS = 100_000;
const MAX_HOLDERS = 10_000;

/** Bytes a base64 text decodes to. */
const decodedLength = (b64: string) => Math.floor((b64.length / 4) * 3) - (b64.endsWith("==") ? 2 : b64.endsWith("=") ? 1 : 0);

/** What is wrong with `m` (which field, what it should be), or null. */
export function mailProblem(m: MailState, cursor: MailCursor): string | null {
  if (m.sid.length === 0 || m.sid.length > MAX_NAME) return "sid: not a sender id";
  if (m.next < 1) return "next: messages are numbered from 1";
  if (cursor.received >= m.next)
    return `next: the guest received message ${cursor.received}, but the mailbox has numbered only ${m.next - 1}`;
  if (m.inbox.length > MAX_LETTERS) return `inbox: ${m.inbox.length} messages`;
  let last = cursor.received;
  let bytes = 0;
  for (const l of m.inbox) {
    if (l.i <= last || l.i >= m.next)
      return `inbox: message ${l.i} is out of order (after ${last}; received up to ${cursor.received}, next ${m.next})`;
    const size = decodedLength(l.data);
    if (size > MAX_MESSAGE) return `inbox: message ${l.i} is ${size} bytes, over the ${MAX_MESSAGE}-byte limit`;
    if (l.from.length > MAX_NAME) return `inbox: message ${l.i} names no sender`;
    last = l.i;
    bytes += size;
  }
  if (bytes > MAX_BYTES + MAX_MESSAGE) return `inbox: the queued messages hold ${bytes} bytes, over the mailbox's ${MAX_BYTES}`;
  const seen = Object.keys(m.seen);
  if (seen.length > MAX_SENDERS || seen.some((s) => s.length > MAX_NAME)) return `seen: ${seen.length} senders`;
  if (m.holders.length > MAX_HOLDERS || m.holders.some((h) => h.length > MAX_NAME)) return `holders: ${m.holders.length} nodes`;
  const p = m.pending;
  if (p && p.n !== cursor.sent + 1)
    return `pending: the send under way is number ${p.n}, but the guest completed ${cursor.sent}: it should be ${cursor.sent + 1}`;
  if (p && (p.to.length === 0 || p.to.length > MAX_NAME)) return "pending: the send under way has no address";
  if (p && decodedLength(p.data) > MAX_MESSAGE) return `pending: the send under way is over the ${MAX_MESSAGE}-byte limit`;
  if (m.name !== null && !validName(m.name)) return "name: not a name a process may register";
  return null;
}
