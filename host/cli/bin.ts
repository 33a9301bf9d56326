#!/usr/bin/env node
// The `migrant` executable.
import { main } from "./main.js";

await main(process.argv);
