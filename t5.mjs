import binaryen from 'binaryen';
import { compileGuest } from '/work/main/dist/host/build/build.js';
import { planLayout } from '/work/main/dist/host/memory/layout.js';
import { instrument } from '/work/main/dist/host/instrument/instrument.js';
const plan = planLayout(1<<30, 4096, 65536);
const wasm = await compileGuest('/tmp/probe/hello.ts', plan, process.stderr);
try { instrument(wasm, plan); console.log('ok'); } catch (e) { console.log(e, typeof e.gC === 'number' ? binaryen.getExceptionMessage(e) : '', Object.keys(binaryen).filter(k => /exception|Exception/i.test(k))); }
