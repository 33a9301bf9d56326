// hash: SHA-256 over a large buffer that is written once and then only read
// (the good case for post-copy).
// args: [MiB] (default 64), [passes] (default 4)
import { print, now, args } from "migrant";

const K: StaticArray<u32> = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];
const H = new StaticArray<u32>(8);
const W = new StaticArray<u32>(64);

function block(data: Uint8Array, at: i32): void {
  for (let i = 0; i < 16; i++) {
    const o = at + i * 4;
    W[i] = (<u32>data[o] << 24) | (<u32>data[o + 1] << 16) | (<u32>data[o + 2] << 8) | <u32>data[o + 3];
  }
  for (let i = 16; i < 64; i++) {
    const a = W[i - 15], b = W[i - 2];
    const s0 = rotr<u32>(a, 7) ^ rotr<u32>(a, 18) ^ (a >>> 3);
    const s1 = rotr<u32>(b, 17) ^ rotr<u32>(b, 19) ^ (b >>> 10);
    W[i] = W[i - 16] + s0 + W[i - 7] + s1;
  }
  let a = H[0], b = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
  for (let i = 0; i < 64; i++) {
    const t1 = h + (rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + W[i];
    const t2 = (rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  H[0] += a; H[1] += b; H[2] += c; H[3] += d; H[4] += e; H[5] += f; H[6] += g; H[7] += h;
}

export function main(): i32 {
  const args_ = args();
  const mib = args_.length > 0 ? I32.parseInt(args_[0]) : 64;
  const passes = args_.length > 1 ? I32.parseInt(args_[1]) : 4;
  const data = new Uint8Array(mib << 20);
  let x: u32 = 777;
  for (let i = 0; i < data.length; i++) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    data[i] = <u8>x;
  }
  let digest = "";
  let lastTick = now(), since = 0;
  for (let p = 0; p < passes; p++) {
    H[0] = 0x6a09e667; H[1] = 0xbb67ae85; H[2] = 0x3c6ef372; H[3] = 0xa54ff53a;
    H[4] = 0x510e527f; H[5] = 0x9b05688c; H[6] = 0x1f83d9ab; H[7] = 0x5be0cd19;
    for (let at = 0; at + 64 <= data.length; at += 64) {
      block(data, at);
      since++;
      if ((at & 0xffff) == 0 && now() - lastTick >= 100) {
        print("tick " + since.toString() + " 0 " + now().toString());
        since = 0;
        lastTick = now();
      }
    }
    // the padding block: 0x80, zeros, the length in bits (the data is a whole number of blocks)
    const pad = new Uint8Array(64);
    pad[0] = 0x80;
    const bits = <u64>data.length << 3;
    for (let i = 0; i < 8; i++) pad[63 - i] = <u8>(bits >> (<u64>i << 3));
    block(pad, 0);
    digest = "";
    for (let i = 0; i < 8; i++) digest += H[i].toString(16).padStart(8, "0");
  }
  print("done " + passes.toString() + " " + digest);
  return 0;
}
