// Test guest: every kind of memory write and read at an address the test picks,
// so that the test can check the dirty and present maps byte for byte.
import { print } from "migrant";

export function store8(addr: usize, v: i32): void { store<u8>(addr, <u8>v); }
export function store32(addr: usize, v: i32): void { store<i32>(addr, v); }
export function store64(addr: usize, v: i64): void { store<i64>(addr, v); }
export function storeOffset(addr: usize, v: i32): void { store<i32>(addr, v, 4000); }
export function fill(addr: usize, v: i32, n: usize): void { memory.fill(addr, <u8>v, n); }
export function copy(dst: usize, src: usize, n: usize): void { memory.copy(dst, src, n); }
export function simdStore(addr: usize, v: i32): void { v128.store(addr, i32x4.splat(v)); }
export function simdLoadSum(addr: usize): i32 {
  const x = v128.load(addr);
  return i32x4.extract_lane(x, 0) + i32x4.extract_lane(x, 3);
}
export function atomicAdd(addr: usize, v: i32): i32 { return atomic.add<i32>(addr, v); }
export function cmpxchg(addr: usize, expected: i32, v: i32): i32 { return atomic.cmpxchg<i32>(addr, expected, v); }
export function load32(addr: usize): i32 { return load<i32>(addr); }
export function load64(addr: usize): i64 { return load<i64>(addr); }
export function grow(pages: i32): i32 { return memory.grow(pages); }
export function size(): i32 { return memory.size(); }

export function main(): i32 {
  print("memops");
  return 0;
}
