// Build options and their defaults. Kept apart from build.ts so that commands
// that only run modules do not load the compiler toolchain (binaryen's
// top-level await alone takes most of a second).

import { GiB } from "../text/size.js";

export interface BuildOptions {
  /** maximum linear memory in bytes (default 1 GiB) */
  maxMemory?: number;
  /** tracked page size in bytes (default 4096) */
  pageSize?: number;
  /** Asyncify buffer in bytes (default: sized from the module) */
  asyncifyStack?: number;
  /** where asc's diagnostics go (default: process.stderr) */
  stderr?: NodeJS.WritableStream;
}

export const DEFAULT_MAX_MEMORY = GiB;
export const DEFAULT_PAGE_SIZE = 4096;
