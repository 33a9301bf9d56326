// fast-check arbitraries of the protocol's JSON payloads, each a value its
// shape accepts, by "type.field" (net/messages.ts).

import fc from "fast-check";
import { ERROR_CODES } from "../host/errors.js";
import { NODE_STATES, PROC_STATES } from "../host/cluster/views.js";
import { CLAIM_ANSWERS, LOCATIONS, MAIL_OUTCOMES } from "../host/cluster/messaging/outcomes.js";
import { REQUESTABLE, STRATEGIES } from "../host/migration/options.js";
import { BALANCE_MODES } from "../host/policy/transfer.js";

const text = fc.string();
/** keys of JSON objects used as maps (a key like "__proto__" is not one a node ever writes) */
const key = fc.stringMatching(/^[a-z_0-9]{1,12}$/);
const count = fc.nat();
const amount = fc.double({ min: 0, max: 1e12, noNaN: true, noDefaultInfinity: true }).map((x) => Math.abs(x));
const anyNumber = fc.double({ noNaN: true, noDefaultInfinity: true });
const strategy = fc.constantFrom(...STRATEGIES);
const share = fc.double({ min: 0, max: 1, noNaN: true }).map((x) => Math.abs(x));
const cpus = fc.double({ min: 0.01, max: 4096, noNaN: true });

const procInfo = fc.record({
  pid: text,
  node: text,
  module: text,
  args: fc.array(text, { maxLength: 4 }),
  state: fc.constantFrom(...PROC_STATES),
  code: fc.option(fc.integer(), { nil: null }),
  error: fc.option(text, { nil: null }),
  memory: amount,
  startedAt: anyNumber,
  uptimeMs: amount,
  migrations: count,
  name: fc.option(text, { nil: null }),
  mailbox: count,
  demand: share,
  cpu: share,
});

const mailCounters = fc.record({
  sent: count,
  delivered: count,
  forwarded: count,
  returned: count,
  resent: count,
  hops: count,
  maxHops: count,
  control: count,
  departures: count,
  undeliverable: count,
});

const nodeInfo = fc.record({
  name: text,
  url: text,
  state: fc.constantFrom(...NODE_STATES),
  load: count,
  procs: count,
  cpus,
  demand: amount,
  memory: amount,
  maxMemory: amount,
  silentMs: amount,
  loopMs: amount,
  reason: fc.option(text, { nil: null }),
  mail: fc.option(mailCounters, { nil: null }),
});

const stats = fc.record({
  pid: text,
  from: text,
  to: text,
  strategy,
  auto: fc.option(
    fc.record({
      chose: strategy,
      reason: text,
      predictedDowntimeMs: amount,
      predictedLostMs: amount,
      memoryBytes: count,
      dirtyMBps: fc.option(amount, { nil: null }),
      linkMBps: amount,
    }),
    { nil: null },
  ),
  result: fc.constantFrom("completed" as const, "cancelled" as const, "failed" as const),
  error: fc.option(text, { nil: null }),
  totalMs: amount,
  setupMs: amount,
  downtimeMs: amount,
  handoverMs: amount,
  switchPauseMs: amount,
  switchMs: amount,
  switchBackPauseMs: amount,
  pausesMs: amount,
  rounds: count,
  pagesPerRound: fc.array(count, { maxLength: 5 }),
  pagesSent: count,
  zeroPagesSkipped: count,
  bytesSent: count,
  rawBytes: count,
  deltaPages: count,
  mbps: amount,
  dirtyRate: amount,
  throttlePct: amount,
  throttledMs: amount,
  faults: count,
  faultP50Us: amount,
  faultP99Us: amount,
  faultTimesMs: fc.array(anyNumber, { maxLength: 5 }),
  faultLatenciesUs: fc.array(amount, { maxLength: 5 }),
  phases: fc.array(fc.record({ name: text, startMs: amount, endMs: amount }), { maxLength: 3 }),
});

const frozen = fc.record({
  phase: fc.constantFrom("start" as const, "main" as const),
  globals: fc.dictionary(key, fc.oneof(anyNumber, text), { maxKeys: 4 }),
  asyncUsed: count,
  sleepRemaining: fc.option(fc.double({ min: -1, max: 1e9, noNaN: true }), { nil: null }),
  mail: fc.record({ received: count, sent: count, sender: text }),
});

const mailState = fc.record({
  sid: text,
  next: count,
  inbox: fc.array(fc.record({ i: count, from: text, data: fc.base64String() }), { maxLength: 3 }),
  seen: fc.dictionary(key, count, { maxKeys: 4 }),
  pending: fc.option(fc.record({ n: count, to: text, data: fc.base64String(), result: fc.option(fc.boolean(), { nil: null }) }), {
    nil: null,
  }),
  holders: fc.array(text, { maxLength: 3 }),
  name: fc.option(text, { nil: null }),
});

const balanceState = fc.record({
  mode: fc.constantFrom(...BALANCE_MODES),
  moved: count,
  received: count,
  failed: count,
  busy: fc.boolean(),
  movable: fc.array(text, { maxLength: 3 }),
  pairs: fc.array(fc.record({ a: text, b: text, rate: amount }), { maxLength: 3 }),
});

export const PAYLOADS: Record<string, fc.Arbitrary<unknown>> = {
  "members.list": fc.array(fc.record({ name: text, url: text }), { maxLength: 4 }),
  "heartbeat.state": fc
    .record({
      url: text,
      loopMs: amount,
      memory: amount,
      maxMemory: amount,
      cpus,
      demand: amount,
      procs: fc.array(procInfo, { maxLength: 3 }),
      mail: mailCounters,
    })
    .chain((state) => fc.option(balanceState, { nil: undefined }).map((balance) => (balance ? { ...state, balance } : state))),
  "run.args": fc.array(text, { maxLength: 4 }),
  "balancePlan.list": fc.array(fc.record({ pid: text, from: text, to: text, reason: text }), { maxLength: 3 }),
  "ps.list": fc.array(procInfo, { maxLength: 3 }),
  "procsReply.list": fc.array(procInfo, { maxLength: 3 }),
  "nodes.list": fc.array(nodeInfo, { maxLength: 3 }),
  "error.code": fc.constantFrom(...ERROR_CODES),
  "migrate.options": fc.record(
    {
      strategy: fc.constantFrom(...REQUESTABLE),
      maxDowntimeMs: amount,
      maxRounds: fc.integer({ min: 1, max: 1000 }),
      bandwidthMBps: fc.option(fc.double({ min: 0.001, max: 1e6, noNaN: true }), { nil: null }),
      push: fc.boolean(),
      throttle: fc.boolean(),
      compress: fc.boolean(),
    },
    { requiredKeys: [] },
  ),
  "migProgress.progress": fc.record({ phase: text, round: count, pagesLeft: fc.integer(), bytesSent: count, mbps: amount }),
  "migResult.stats": stats,
  "migBegin.info": fc.record({
    args: fc.array(text, { maxLength: 4 }),
    module: text,
    startedAt: anyNumber,
    migrations: count,
    uptimeMs: amount,
    memoryPages: count,
    strategy,
    name: fc.option(text, { nil: null }),
  }),
  "migHandover.state": fc.record({
    frozen,
    seq: count,
    verify: fc.option(fc.dictionary(fc.nat().map(String), fc.nat(), { maxKeys: 8 }), { nil: null }),
    mail: mailState,
  }),
  "migDone.stats": fc.record({
    faults: count,
    faultP50Us: amount,
    faultP99Us: amount,
    faultTimesMs: fc.array(anyNumber, { maxLength: 5 }),
    faultLatenciesUs: fc.array(amount, { maxLength: 5 }),
    switchBackPauseMs: fc.option(amount, { nil: null }),
  }),
  "mail.path": fc.array(text, { maxLength: 4 }),
  "mailAck.outcome": fc.constantFrom(...MAIL_OUTCOMES),
  "located.where": fc.constantFrom(...LOCATIONS),
  "nameAnswer.answer": fc.constantFrom(...CLAIM_ANSWERS),
};
