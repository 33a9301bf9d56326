// A loaded migratable module ("image"): its bytes, its layout and its variants,
// each compiled once per node and instantiated per process.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { ModuleFormatError, UsageError } from "./errors.js";
import { layoutOf, type Layout } from "./memory/layout.js";
import { PRIMARY, variantSection, type Variant } from "./instrument/variants.js";
import { withoutData } from "./instrument/without-data.js";

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

export class Image {
  readonly hash: string;
  private compiled = new Map<Variant, WebAssembly.Module>();
  /** each variant with its active data segments emptied (null: its data section could not be read that way) */
  private resuming = new Map<Variant, WebAssembly.Module | null>();

  private constructor(
    readonly bytes: Uint8Array,
    readonly layout: Layout,
    primary: WebAssembly.Module,
    readonly name: string,
  ) {
    this.hash = createHash("sha256").update(bytes).digest("hex");
    this.compiled.set(PRIMARY, primary);
  }

  static fromBytes(bytes: Uint8Array, name: string): Image {
    if (bytes.length < 8 || WASM_MAGIC.some((b, i) => bytes[i] !== b)) {
      throw new ModuleFormatError(
        `${name} is not a WebAssembly module; build a guest with \`migrant build prog.ts -o prog.wasm\` (or run the .ts directly)`,
      );
    }
    let module: WebAssembly.Module;
    try {
      module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
    } catch (e) {
      throw new ModuleFormatError(`${name} is not a valid WebAssembly module (${(e as Error).message}); rebuild it with \`migrant build\``);
    }
    return new Image(bytes, layoutOf(module, name), module, name);
  }

  static fromFile(path: string): Image {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (e) {
      throw new UsageError(`${path}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
    }
    return Image.fromBytes(bytes, basename(path));
  }

  /** The compiled module of a variant (compiled on first use). */
  module(v: Variant): WebAssembly.Module {
    let m = this.compiled.get(v);
    if (!m) {
      m = new WebAssembly.Module(this.variantBytes(v));
      this.compiled.set(v, m);
    }
    return m;
  }

  /**
   * The variant for a worker that resumes a process: its active data segments
   * emptied, so that instantiating it writes nothing to the process's memory
   * (instrument/without-data.ts); compiled on first use. Null where the data
   * section could not be read so: resume with module(v), instantiated at `go`.
   */
  resumingModule(v: Variant): WebAssembly.Module | null {
    if (!this.resuming.has(v)) {
      const bytes = withoutData(this.variantBytes(v));
      this.resuming.set(v, bytes ? new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>) : null);
    }
    return this.resuming.get(v)!;
  }

  private variantBytes(v: Variant): Uint8Array<ArrayBuffer> {
    if (v === PRIMARY) return this.bytes as Uint8Array<ArrayBuffer>;
    const [section] = WebAssembly.Module.customSections(this.compiled.get(PRIMARY)!, variantSection(v));
    if (!section) throw new ModuleFormatError(`${this.name} carries no ${v} variant; rebuild it with this migrant`);
    return new Uint8Array(section);
  }
}
