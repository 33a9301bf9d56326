// A numbered stream from a producer to a consumer. `consume NAME N`
// registers NAME and receives N messages, checking that message k says k (any
// gap, repeat or reordering is reported and ends it with 1); `produce NAME N`
// sends 1..N to NAME as fast as the consumer's mailbox lets it. Either or both
// may be migrated while the stream flows: the consumer still gets 1..N, once
// each, in order. On a cluster (MIGRANT_NODE set):
//   migrant run -d assembly/examples/stream.ts consume sink 10000
//   migrant run assembly/examples/stream.ts produce sink 10000
// args: consume NAME N [PRINT_EVERY] [PAUSE_MS] | produce NAME N
//   (a consumer with a pause sleeps that long before each message: a slow reader)
import { print, sleep, args, exit, sendText, recvText, register, findName } from "migrant";

function consume(name: string, n: i32, every: i32, pause: i32): i32 {
  if (!register(name)) {
    print("consumer: the name " + name + " is taken");
    return 1;
  }
  for (let k = 1; k <= n; k++) {
    sleep(pause);
    const m = recvText(-1)!;
    if (m != k.toString()) {
      print("consumer: message " + k.toString() + " says " + m);
      return 1;
    }
    if (every > 0 && k % every == 0) print("consumer: " + k.toString());
  }
  print("consumer: " + n.toString() + " messages, each once, in order");
  return 0;
}

function produce(name: string, n: i32): i32 {
  const to = findName(name, 5000);
  if (to === null) {
    print("producer: no process named " + name);
    exit(2);
  }
  for (let k = 1; k <= n; k++) {
    if (!sendText(to!, k.toString())) {
      print("producer: message " + k.toString() + " refused");
      return 1;
    }
  }
  print("producer: " + n.toString() + " sent");
  return 0;
}

export function main(): i32 {
  const a = args();
  if (a.length >= 3 && a[0] == "consume")
    return consume(a[1], I32.parseInt(a[2]), a.length > 3 ? I32.parseInt(a[3]) : 0, a.length > 4 ? I32.parseInt(a[4]) : 0);
  if (a.length == 3 && a[0] == "produce") return produce(a[1], I32.parseInt(a[2]));
  print("usage: stream.ts consume NAME N [PRINT_EVERY] | produce NAME N");
  return 2;
}
