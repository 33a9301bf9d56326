// Ping-pong: two processes exchange text messages through a registered name.
// `pong` registers the name "pong" and answers each "ping k" with "pong k" to
// its sender until it gets "stop"; `ping N` finds "pong", does N round trips,
// checking every answer, then stops it. Either may be migrated mid-way: the
// output does not change. On a cluster (MIGRANT_NODE set):
//   migrant run -d assembly/examples/ping-pong.ts pong
//   migrant run assembly/examples/ping-pong.ts ping 100
// args: pong | ping [N] (default 100)
import { print, args, exit, sendText, recvText, sender, register, findName } from "migrant";

/** The pid registered as `name`, waiting up to 5 s for it; exits with 2 if none. */
function find(name: string): string {
  const p = findName(name, 5000);
  if (p !== null) return p;
  print("ping: no process named " + name);
  exit(2);
  return "";
}

function pong(): i32 {
  if (!register("pong")) {
    print("pong: the name pong is taken");
    exit(1);
  }
  let pings = 0;
  while (true) {
    const msg = recvText(-1)!;
    if (msg == "stop") break;
    if (msg.startsWith("ping ")) {
      pings++;
      sendText(sender(), "pong " + msg.substring(5));
    } else {
      print("pong: unexpected message " + msg);
    }
  }
  print("pong: stopped after " + pings.toString() + " pings");
  return 0;
}

function ping(n: i32): i32 {
  const to = find("pong");
  for (let k = 1; k <= n; k++) {
    const ks = k.toString();
    if (!sendText(to, "ping " + ks)) {
      print("ping: send of ping " + ks + " refused");
      return 1;
    }
    const reply = recvText(-1)!;
    if (reply != "pong " + ks) {
      print("ping: expected pong " + ks + ", got " + reply);
      return 1;
    }
    print("ping " + ks + ": " + reply);
  }
  sendText(to, "stop");
  print("ping: " + n.toString() + " round trips");
  return 0;
}

export function main(): i32 {
  const a = args();
  if (a.length > 0 && a[0] == "pong") return pong();
  if (a.length > 0 && a[0] == "ping") return ping(a.length > 1 ? I32.parseInt(a[1]) : 100);
  print("usage: ping-pong.ts pong | ping N");
  return 2;
}
