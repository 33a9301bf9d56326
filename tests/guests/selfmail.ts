// Sends itself N messages, sleeps (a checkpoint can be taken then), then
// receives them and prints each: messages queued in its mailbox survive a
// snapshot. Also checks register/whereis and a send to nobody.
// args: [N] (default 3) [SLEEP_MS] (default 600)
import { print, sleep, args, pid, sendText, recvText, sender, register, whereis } from "migrant";

export function main(): i32 {
  const a = args();
  const n = a.length > 0 ? I32.parseInt(a[0]) : 3;
  const pause = a.length > 1 ? I32.parseInt(a[1]) : 600;
  const me = pid();
  print("register self: " + (register("self") ? "true" : "false"));
  const w = whereis("self");
  print("whereis self is me: " + (w !== null && w == me ? "true" : "false"));
  print("send to nobody: " + (sendText("nobody", "x") ? "true" : "false"));
  for (let i = 1; i <= n; i++) {
    if (!sendText(i % 2 == 0 ? "self" : me, "m" + i.toString())) {
      print("send " + i.toString() + " refused");
      return 1;
    }
  }
  print("queued " + n.toString());
  sleep(pause);
  for (let i = 1; i <= n; i++) {
    const m = recvText(1000);
    if (m === null) {
      print("missing message " + i.toString());
      return 1;
    }
    print("got " + m + " from " + (sender() == me ? "me" : sender()));
  }
  print("then nothing: " + (recvText(50) === null ? "true" : "false"));
  return 0;
}
