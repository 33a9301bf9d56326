// The balancer's messages checked where they enter a node: every field of
// balanceProbe ... balanceEnd (net/messages.ts) is a number or a string the
// protocol decoded; here each is held to what an honest node sends. A value
// outside it is a ProtocolError: the router closes that link, nothing else is
// touched (cluster/router.ts).

import { ProtocolError, type MessageOf } from "../net/protocol.js";
import { PID } from "../messaging/addresses.js";

/** Longest reason a balancer message may carry. */
export const MAX_REASON = 400;
const MAX_CPUS = 4096;
const MAX_DEMAND = 1e6;
const RESULTS = ["completed", "failed", "cancelled"];

const bad = (m: { t: string }, what: string): never => {
  throw new ProtocolError("field", `${m.t}.${what}`);
};

function load(m: { t: string; cpus: number; demand: number }): void {
  if (!(m.cpus > 0 && m.cpus <= MAX_CPUS)) bad(m, `cpus: expected a number > 0 and <= ${MAX_CPUS}, got ${m.cpus}`);
  if (!(m.demand >= 0 && m.demand <= MAX_DEMAND)) bad(m, `demand: expected a number from 0 to ${MAX_DEMAND}, got ${m.demand}`);
}

function flag(m: { t: string }, name: string, v: number): void {
  if (v !== 0 && v !== 1) bad(m, `${name}: expected 0 or 1, got ${v}`);
}

function pid(m: { t: string }, v: string, empty = false): void {
  if (!(PID.test(v) || (empty && v === "")))
    bad(m, `pid: expected a pid (A.17)${empty ? " or empty" : ""}, got ${JSON.stringify(v.slice(0, 40))}`);
}

function reason(m: { t: string }, v: string): void {
  if (v.length > MAX_REASON) bad(m, `reason: expected at most ${MAX_REASON} characters, got ${v.length}`);
}

export function checkLoad(m: MessageOf<"balanceLoad">): MessageOf<"balanceLoad"> {
  load(m);
  flag(m, "busy", m.busy);
  return m;
}

export function checkAsk(m: MessageOf<"balanceAsk">): MessageOf<"balanceAsk"> {
  load(m);
  return m;
}

export function checkAnswer(m: MessageOf<"balanceAnswer">): MessageOf<"balanceAnswer"> {
  pid(m, m.pid, true);
  reason(m, m.reason);
  return m;
}

export function checkOffer(m: MessageOf<"balanceOffer">): MessageOf<"balanceOffer"> {
  pid(m, m.pid);
  if (!(m.share >= 0 && m.share <= 1)) bad(m, `share: expected a number from 0 to 1, got ${m.share}`);
  reason(m, m.reason);
  return m;
}

export function checkAccept(m: MessageOf<"balanceAccept">): MessageOf<"balanceAccept"> {
  flag(m, "ok", m.ok);
  reason(m, m.why);
  return m;
}

export function checkEnd(m: MessageOf<"balanceEnd">): MessageOf<"balanceEnd"> {
  pid(m, m.pid);
  if (!RESULTS.includes(m.result)) bad(m, `result: expected one of ${RESULTS.join(", ")}, got ${JSON.stringify(m.result.slice(0, 40))}`);
  return m;
}
