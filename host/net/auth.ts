// Mutual authentication with a shared cluster secret (HMAC challenge).
//
//   server -> challenge {node, nonce_s}
//   client -> auth {role, name, proof = HMAC(secret, role:nonce_s), nonce_c}
//   server -> welcome {node, proof = HMAC(secret, server:nonce_c)}   or refused {reason}
//
// Each side proves it knows the secret without sending it, over fresh nonces.
// A node started without a secret uses the empty one and listens on loopback
// only, so that only this machine can reach it.

import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { UsageError } from "../errors.js";

export type Role = "node" | "client" | "server";

/** The addresses only this machine can reach: a node without a secret listens on these alone. */
export const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1)$/;

export const nonce = (): Uint8Array => new Uint8Array(randomBytes(16));

export function prove(secret: Buffer, n: Uint8Array, role: Role): Uint8Array {
  return new Uint8Array(createHmac("sha256", secret).update(`${role}:`).update(n).digest());
}

export function verify(secret: Buffer, n: Uint8Array, role: Role, proof: Uint8Array): boolean {
  const want = prove(secret, n, role);
  return proof.length === want.length && timingSafeEqual(want, proof);
}

/** Reads a secret file (its content, trimmed); no file means no secret. */
export function readSecret(file: string | undefined): Buffer {
  if (!file) return Buffer.alloc(0);
  let text: string;
  try {
    text = readFileSync(file, "utf8").trim();
  } catch (e) {
    throw new UsageError(`cannot read the secret file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!text) throw new UsageError(`the secret file ${file} is empty`);
  return Buffer.from(text);
}
