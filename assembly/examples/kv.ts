// A key-value server and its clients, as processes that talk by messages.
// `server C` registers the name "kv" and answers requests from anyone:
// "put KEY VALUE" -> "ok", "get KEY" -> "val VALUE" or "none"; after "bye"
// from C clients it prints what it holds and ends. `client ID OPS` finds "kv",
// puts OPS keys of its own, reads each back and checks it, then says bye.
// Any of them may be migrated while they talk: the output does not change.
// On a cluster (MIGRANT_NODE set):
//   migrant run -d assembly/examples/kv.ts server 2
//   migrant run -d assembly/examples/kv.ts client 1 500
//   migrant run assembly/examples/kv.ts client 2 500
// args: server CLIENTS | client ID OPS
import { print, args, exit, sendText, recvText, sender, register, findName } from "migrant";

/** The pid registered as `name`, waiting up to 5 s for it; exits with 2 if none. */
function find(name: string): string {
  const p = findName(name, 5000);
  if (p !== null) return p;
  print("kv: no process named " + name);
  exit(2);
  return "";
}

function server(clients: i32): i32 {
  if (!register("kv")) {
    print("kv server: the name kv is taken");
    return 1;
  }
  const store = new Map<string, string>();
  let byes = 0;
  let requests = 0;
  while (byes < clients) {
    const msg = recvText(-1)!;
    const from = sender();
    requests++;
    if (msg == "bye") {
      byes++;
      continue;
    }
    const words = msg.split(" ");
    let reply = "error: " + msg;
    if (words.length == 3 && words[0] == "put") {
      store.set(words[1], words[2]);
      reply = "ok";
    } else if (words.length == 2 && words[0] == "get") {
      reply = store.has(words[1]) ? "val " + store.get(words[1]) : "none";
    }
    if (!sendText(from, reply)) print("kv server: could not answer " + from);
  }
  print("kv server: " + requests.toString() + " requests from " + clients.toString() + " clients, " + store.size.toString() + " keys");
  return 0;
}

/** Sends a request and waits for its answer. */
function ask(kv: string, request: string): string {
  if (!sendText(kv, request)) {
    print("kv client: the server is gone");
    exit(1);
  }
  return recvText(-1)!;
}

function client(id: string, ops: i32): i32 {
  const kv = find("kv");
  for (let i = 1; i <= ops; i++) {
    const r = ask(kv, "put c" + id + "-" + i.toString() + " " + (i * i).toString());
    if (r != "ok") {
      print("kv client " + id + ": put " + i.toString() + " answered " + r);
      return 1;
    }
  }
  for (let i = 1; i <= ops; i++) {
    const r = ask(kv, "get c" + id + "-" + i.toString());
    if (r != "val " + (i * i).toString()) {
      print("kv client " + id + ": get " + i.toString() + " answered " + r);
      return 1;
    }
  }
  sendText(kv, "bye");
  print("kv client " + id + ": " + ops.toString() + " puts and " + ops.toString() + " gets, every answer right");
  return 0;
}

export function main(): i32 {
  const a = args();
  if (a.length == 2 && a[0] == "server") return server(I32.parseInt(a[1]));
  if (a.length == 3 && a[0] == "client") return client(a[1], I32.parseInt(a[2]));
  print("usage: kv.ts server CLIENTS | client ID OPS");
  return 2;
}
