// A process the tests drive by messages: it registers NAME, then for each
// message "send TO TEXT" sends TEXT to TO and prints "TO TEXT: true|false";
// "quit" ends it; anything else it prints as "got TEXT from SENDER".
// args: NAME
import { print, args, sendText, recvText, sender, register } from "migrant";

export function main(): i32 {
  const a = args();
  if (a.length < 1 || !register(a[0])) {
    print("relay: give a free name");
    return 1;
  }
  print("relay " + a[0] + " ready");
  while (true) {
    const m = recvText(-1)!;
    if (m == "quit") break;
    if (m.startsWith("send ")) {
      const rest = m.substring(5);
      const sp = rest.indexOf(" ");
      const to = sp < 0 ? rest : rest.substring(0, sp);
      const text = sp < 0 ? "" : rest.substring(sp + 1);
      print(to + " " + text + ": " + (sendText(to, text) ? "true" : "false"));
    } else {
      print("got " + m + " from " + sender());
    }
  }
  print("relay " + a[0] + " quits");
  return 0;
}
