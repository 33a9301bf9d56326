// The words nodes use about messages between processes (net/messages.ts
// carries them as JSON enumerations): how an attempt to deliver ended, where
// a node says a process is, and how a node answers a claim on a name.

/**
 * How one attempt to deliver a message ended, as the sender's node hears it:
 *   delivered  it is in the receiver's mailbox now
 *   dup        the receiver had it already (an earlier attempt got there): as delivered
 *   full       the mailbox is full: the sender's node waits for room (mailRoom) and tries again
 *   ended      the process has ended: send returns false
 *   unknown    no such process: send returns false
 *   moved      the node asked no longer runs it (returned, in resend and update): locate it, send again
 *   stuck      it cannot go on now: node `at` (the next on its way) is unreachable; tried again until the bound
 *   held       the process is in a handover: the message waits at its node and goes on when the handover is over
 *   refused    it can never be taken: a process's message to itself while its own mailbox is full
 *              (it cannot receive while it waits in send): send returns false
 */
export const MAIL_OUTCOMES = ["delivered", "dup", "full", "ended", "unknown", "moved", "stuck", "held", "refused"] as const;
export type MailOutcome = (typeof MAIL_OUTCOMES)[number];

/** Where a node says a process is: here, arriving here (a migration under way), ended here, or not here. */
export const LOCATIONS = ["here", "arriving", "ended", "none"] as const;
export type Location = (typeof LOCATIONS)[number];

/** A member's answer to a claim on a name: free here, held by a live process, or claimed by another just now (back off). */
export const CLAIM_ANSWERS = ["ok", "taken", "busy"] as const;
export type ClaimAnswer = (typeof CLAIM_ANSWERS)[number];
