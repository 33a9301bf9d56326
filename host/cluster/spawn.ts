// Starting `migrant node` as a child process (the demo, the tests and the
// benchmark run real nodes): it listens on a free port and says where.

import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "../paths.js";

export const BIN = join(ROOT, "dist", "host", "cli", "bin.js");

export interface SpawnedNode {
  child: ChildProcess;
  /** resolves with the node's address once it listens; rejects if it exits first */
  url: Promise<string>;
}

/** The command that runs `node ...argv`, inside network namespace `netns` when one is given. */
export function nodeCommand(argv: string[], netns?: string): [string, string[]] {
  return netns ? ["ip", ["netns", "exec", netns, process.execPath, ...argv]] : [process.execPath, argv];
}

/**
 * Runs `migrant node --name NAME --port 0 ...args` (in network namespace
 * `netns` if given), handing every line it prints (stdout and stderr) to `onLine`.
 */
export function spawnNode(
  name: string,
  args: string[],
  onLine: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
  netns?: string,
): SpawnedNode {
  const child = spawn(...nodeCommand([BIN, "node", "--name", name, "--port", "0", ...args], netns), {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const url = new Promise<string>((resolve, reject) => {
    let found = false;
    const take = (stream: NodeJS.ReadableStream) => {
      let buf = "";
      stream.on("data", (d: Buffer) => {
        buf += d.toString();
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          onLine(line);
          const m = /listening on (wss?:\/\/\S+)/.exec(line);
          if (m && !found) {
            found = true;
            resolve(m[1]);
          }
        }
      });
    };
    take(child.stdout!);
    take(child.stderr!);
    child.once("exit", (code) => reject(new Error(`node ${name} exited (${code}) before it listened`)));
  });
  url.catch(() => undefined);
  return { child, url };
}
