// TLS for the links: a node given a certificate and its key serves wss://
// (cluster/server.ts), and whoever connects to it (a client, a node joining)
// checks that certificate against a CA file it was given (--ca, $MIGRANT_CA)
// or, without one, against the CAs this machine trusts. TLS keeps the traffic
// private and proves the node is the one its address names; the cluster secret
// (auth.ts) still proves membership, on top of it.
//
// Here: reading the certificate, key and CA files with errors that say which
// file is wrong and how, and saying in plain words why a TLS connection failed.

import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { UsageError } from "../errors.js";

/** What a node serves wss:// with. */
export interface TlsIdentity {
  cert: Buffer;
  key: Buffer;
  certFile: string;
}

/** The CA a connecting side trusts (instead of the system's), and the file it came from (for messages). */
export interface TrustedCa {
  pem: Buffer;
  file: string;
}

function readPem(file: string, flag: string, label: RegExp, what: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (e) {
    throw new UsageError(`cannot read ${flag} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!label.test(pem.toString("latin1"))) throw new UsageError(`${flag} ${file} holds no PEM ${what} (a "-----BEGIN ...-----" block)`);
  return pem;
}

/** Reads --tls-cert and --tls-key and checks that they belong together and that the certificate is valid now. */
export function readTlsIdentity(certFile: string, keyFile: string): TlsIdentity {
  const cert = readPem(certFile, "--tls-cert", /-----BEGIN CERTIFICATE-----/, "certificate");
  const key = readPem(keyFile, "--tls-key", /-----BEGIN [A-Z ]*PRIVATE KEY-----/, "private key");
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (e) {
    throw new UsageError(`--tls-cert ${certFile} is not a readable certificate (${(e as Error).message})`);
  }
  let matches: boolean;
  try {
    matches = x509.checkPrivateKey(createPrivateKey(key));
  } catch (e) {
    const encrypted = /ENCRYPTED/.test(key.toString("latin1"));
    throw new UsageError(
      encrypted
        ? `--tls-key ${keyFile} is encrypted; give the node an unencrypted key (openssl pkey -in ${keyFile} -out node.key)`
        : `--tls-key ${keyFile} is not a readable private key (${(e as Error).message})`,
    );
  }
  if (!matches) throw new UsageError(`the key in --tls-key ${keyFile} does not match the certificate in --tls-cert ${certFile}`);
  const now = Date.now();
  if (Date.parse(x509.validTo) < now) throw new UsageError(`the certificate in --tls-cert ${certFile} expired on ${x509.validTo}`);
  if (Date.parse(x509.validFrom) > now)
    throw new UsageError(`the certificate in --tls-cert ${certFile} is not valid before ${x509.validFrom}`);
  return { cert, key, certFile };
}

/** Reads --ca (or $MIGRANT_CA); none given means the system's CAs. */
export function readCa(file: string | undefined): TrustedCa | undefined {
  if (!file) return undefined;
  return { pem: readPem(file, "--ca", /-----BEGIN CERTIFICATE-----/, "certificate"), file };
}

const UNSPECIFIED = new Set(["0.0.0.0", "::"]);

/** A warning when the node's certificate does not name the address it advertises (those who dial it would refuse it), else null. */
export function nameWarning(identity: TlsIdentity, host: string): string | null {
  if (UNSPECIFIED.has(host)) return null;
  const x509 = new X509Certificate(identity.cert);
  if ((isIP(host) ? x509.checkIP(host) : x509.checkHost(host)) !== undefined) return null;
  return (
    `the certificate in --tls-cert ${identity.certFile} does not name ${host} (it names: ${x509.subjectAltName ?? x509.subject}); ` +
    `clients and nodes that connect to wss://${host} will refuse it`
  );
}

const UNTRUSTED = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
]);

/** Why a TLS connection to `url` failed, in words, when `e` is a TLS failure; else null. */
export function tlsFailure(e: NodeJS.ErrnoException, url: string, ca: TrustedCa | undefined): string | null {
  const code = e.code ?? "";
  if (UNTRUSTED.has(code)) {
    return ca
      ? `the certificate of the node at ${url} is not signed by the CA in --ca ${ca.file} (${code})`
      : `the certificate of the node at ${url} is not signed by a CA this machine trusts (${code}): ` +
          `give the cluster's CA with --ca FILE (or $MIGRANT_CA)`;
  }
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID")
    return `the certificate of the node at ${url} is not for that address (${e.message}); connect by a name or IP address it holds`;
  if (code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID")
    return `the certificate of the node at ${url} is not valid now (${code}); the node needs a new one`;
  if (/wrong version number|packet length too long|unknown protocol/i.test(e.message))
    return `the node at ${url} does not speak TLS (started without --tls-cert?): connect to ${url.replace(/^wss:/, "ws:")}`;
  return null;
}
