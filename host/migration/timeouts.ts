// How long each side of a migration waits for the other before it gives up
// (docs/DESIGN.md section 8, "Failure"). Every wait for the peer has one of
// these bounds; what happens on expiry depends on who owns the process then:
// before the handover the source (it resumes the process), after it the
// destination.
//
// MIGRANT_TEST_STEP_MS shortens them all (the tests of a silent peer).

const scale = Number(process.env.MIGRANT_TEST_STEP_MS) || 0;

/** How long the source waits for any one answer of the destination (migAccept, migSynced, migResumed, migDone). */
export const STEP_MS = scale || 30_000;
/**
 * How long the destination waits for the next message of a migration before
 * the handover (a batch, a sync, the handover itself); generous, as a source
 * pacing to a very low --bandwidth sends a batch only every few seconds.
 */
export const ARRIVAL_IDLE_MS = 4 * STEP_MS;
/** Post-copy: how long the destination waits for a page its guest asked for before it stops the process. */
export const FAULT_WAIT_MS = STEP_MS;
/** How long a destination remembers how a migration ended here, to answer the source's late question (migAbort). */
export const ARRIVAL_MEMORY_MS = 10 * STEP_MS;
