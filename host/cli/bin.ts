#!/usr/bin/env node
// The `migrant` executable.
import { main } from "./main.js";

// a reader that went away (`migrant attach X | head`) is not an error
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});

await main(process.argv);
