// Token ring: SIZE processes "ring-0" .. "ring-(SIZE-1)" pass a numbered token
// round a ring, each to the next, ROUNDS times round (tokens 1..ROUNDS*SIZE).
// Member 0 sends token 1; whoever gets token t passes t+1 on. So member i
// receives i, i+SIZE, i+2*SIZE, ... (member 0: SIZE, 2*SIZE, ...) and checks
// every token is exactly that. When member 0 gets the last token it sends
// "stop" instead, which runs on from 1 to SIZE-1 (the last member keeps it), so
// every member ends and nobody sends to an ended process. Members may be
// migrated while the ring runs: the output does not change. Start every member
// (any order, on any nodes), e.g. on a cluster (MIGRANT_NODE set):
//   migrant run -d assembly/examples/token-ring.ts 1 3 10000
//   migrant run -d assembly/examples/token-ring.ts 2 3 10000
//   migrant run assembly/examples/token-ring.ts 0 3 10000
// args: INDEX SIZE ROUNDS [PRINT_EVERY] (default 1000; 0 never prints progress)
import { print, args, exit, sendText, recvText, register, findName } from "migrant";

/** The pid registered as `name`, waiting up to 5 s for it; exits with 2 if none. */
function find(me: string, name: string): string {
  const p = findName(name, 5000);
  if (p !== null) return p;
  print(me + ": no process named " + name);
  exit(2);
  return "";
}

function pass(me: string, to: string, msg: string): void {
  if (!sendText(to, msg)) {
    print(me + ": send of " + msg + " refused");
    exit(1);
  }
}

export function main(): i32 {
  const a = args();
  if (a.length < 3) {
    print("usage: token-ring.ts INDEX SIZE ROUNDS [PRINT_EVERY]");
    return 2;
  }
  const index = I32.parseInt(a[0]);
  const size = I32.parseInt(a[1]);
  const rounds = I32.parseInt(a[2]);
  const every = a.length > 3 ? I32.parseInt(a[3]) : 1000;
  if (size < 1 || index < 0 || index >= size || rounds < 1 || every < 0) {
    print("token-ring: need 0 <= INDEX < SIZE, ROUNDS >= 1, PRINT_EVERY >= 0");
    return 2;
  }
  const me = "ring-" + index.toString();
  if (!register(me)) {
    print(me + ": the name is taken");
    exit(1);
  }
  const next = find(me, "ring-" + ((index + 1) % size).toString());
  const total = rounds * size;
  if (index == 0) pass(me, next, "1");

  let expected = index == 0 ? size : index;
  let count = 0;
  while (true) {
    const t = recvText(-1)!;
    if (t == "stop" && index != 0) break;
    if (t != expected.toString()) {
      print(me + ": out of order: got " + t + ", expected " + expected.toString());
      return 1;
    }
    count++;
    if (every > 0 && count % every == 0) print(me + ": " + count.toString() + " tokens");
    if (expected == total) break; // only member 0 gets the last token
    pass(me, next, (expected + 1).toString());
    expected += size;
  }
  if (count != rounds) {
    print(me + ": stopped after " + count.toString() + " tokens, expected " + rounds.toString());
    return 1;
  }
  if (index < size - 1) pass(me, next, "stop"); // from 0 on, all but the last
  print(me + ": done, " + count.toString() + " tokens in order");
  if (index == 0) print("ring: " + expected.toString() + " messages passed"); // expected == total here
  return 0;
}
