import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import { BrookError, invalidOption } from "./errors.js";

const pbkdf2Async = promisify(pbkdf2);

export type SaslMechanismName = "plain" | "scram-sha-256" | "scram-sha-512";

export interface SaslOptions {
  mechanism: SaslMechanismName;
  username: string;
  password: string;
}

/**
 * The client side of one SASL exchange. `start` gives the first message; `next` takes each
 * server message and gives the reply, or null once the exchange has succeeded. Both throw a
 * BrookError (BROOK_SASL_FAILED) when the server's messages are wrong.
 */
export interface SaslExchange {
  /** The name the broker knows the mechanism by, for SaslHandshake ("SCRAM-SHA-256"). */
  readonly mechanism: string;
  start(): Buffer;
  next(serverMessage: Buffer): Promise<Buffer | null>;
}

export function validateSaslOptions(sasl: SaslOptions): void {
  if (typeof sasl !== "object" || sasl === null) throw invalidOption("sasl must be an object");
  if (!["plain", "scram-sha-256", "scram-sha-512"].includes(sasl.mechanism)) {
    throw invalidOption(
      `sasl.mechanism must be "plain", "scram-sha-256" or "scram-sha-512", not ${JSON.stringify(sasl.mechanism)}`,
    );
  }
  if (typeof sasl.username !== "string" || sasl.username === "") {
    throw invalidOption("sasl.username must be a non-empty string");
  }
  if (typeof sasl.password !== "string") throw invalidOption("sasl.password must be a string");
}

export function createSaslExchange(sasl: SaslOptions): SaslExchange {
  if (sasl.mechanism === "plain") return plainExchange(sasl.username, sasl.password);
  return new ScramExchange(sasl.mechanism === "scram-sha-256" ? "sha256" : "sha512", sasl.username, sasl.password);
}

/** PLAIN (RFC 4616): one message, "authzid NUL authcid NUL password", with no authzid. */
function plainExchange(username: string, password: string): SaslExchange {
  return {
    mechanism: "PLAIN",
    start: () => Buffer.from(`\0${username}\0${password}`, "utf8"),
    next: async () => null,
  };
}

function saslFailure(message: string): BrookError {
  return new BrookError("BROOK_SASL_FAILED", `SASL authentication failed: ${message}`);
}

/** "a=1,b=2" → Map; SCRAM attribute values never contain commas. */
function parseAttributes(message: string): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const part of message.split(",")) {
    const equals = part.indexOf("=");
    if (equals === 1) attributes.set(part.slice(0, 1), part.slice(2));
  }
  return attributes;
}

/** RFC 5802 §5.1: "=" and "," in a user name travel as "=3D" and "=2C". */
function saslName(username: string): string {
  return username.replace(/=/g, "=3D").replace(/,/g, "=2C");
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) ^ (b[i] as number);
  return out;
}

/** RFC 5802 without channel binding, as Kafka uses it ("n,," GS2 header). */
export class ScramExchange implements SaslExchange {
  readonly mechanism: string;
  private readonly clientNonce: string;
  private readonly clientFirstBare: string;
  private expectedServerSignature: Buffer | undefined;

  /** `clientNonce` is for tests with published vectors; leave it out to get a random one. */
  constructor(
    private readonly hash: "sha256" | "sha512",
    username: string,
    private readonly password: string,
    clientNonce?: string,
  ) {
    this.mechanism = hash === "sha256" ? "SCRAM-SHA-256" : "SCRAM-SHA-512";
    this.clientNonce = clientNonce ?? randomBytes(24).toString("base64");
    this.clientFirstBare = `n=${saslName(username)},r=${this.clientNonce}`;
  }

  start(): Buffer {
    return Buffer.from(`n,,${this.clientFirstBare}`, "utf8");
  }

  async next(serverMessage: Buffer): Promise<Buffer | null> {
    return this.expectedServerSignature === undefined
      ? this.clientFinal(serverMessage.toString("utf8"))
      : this.verifyServerFinal(serverMessage.toString("utf8"));
  }

  private hmac(key: Buffer, data: string | Buffer): Buffer {
    return createHmac(this.hash, key).update(data).digest();
  }

  private async clientFinal(serverFirst: string): Promise<Buffer> {
    const attributes = parseAttributes(serverFirst);
    if (attributes.has("e")) throw saslFailure(`the server refused: ${attributes.get("e")}`);
    const nonce = attributes.get("r");
    const salt = attributes.get("s");
    const iterations = Number(attributes.get("i"));
    if (!nonce || salt === undefined || !Number.isInteger(iterations) || iterations < 1) {
      throw saslFailure(`malformed server-first-message ${JSON.stringify(serverFirst)}`);
    }
    if (!nonce.startsWith(this.clientNonce) || nonce.length === this.clientNonce.length) {
      throw saslFailure("the server's nonce does not extend the client's");
    }
    const keyLength = this.hash === "sha256" ? 32 : 64;
    const saltedPassword = await pbkdf2Async(
      Buffer.from(this.password, "utf8"),
      Buffer.from(salt, "base64"),
      iterations,
      keyLength,
      this.hash,
    );
    const clientKey = this.hmac(saltedPassword, "Client Key");
    const storedKey = createHash(this.hash).update(clientKey).digest();
    const withoutProof = `c=${Buffer.from("n,,").toString("base64")},r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const proof = xor(clientKey, this.hmac(storedKey, authMessage));
    this.expectedServerSignature = this.hmac(this.hmac(saltedPassword, "Server Key"), authMessage);
    return Buffer.from(`${withoutProof},p=${proof.toString("base64")}`, "utf8");
  }

  private async verifyServerFinal(serverFinal: string): Promise<null> {
    const attributes = parseAttributes(serverFinal);
    if (attributes.has("e")) throw saslFailure(`the server refused: ${attributes.get("e")}`);
    const signature = Buffer.from(attributes.get("v") ?? "", "base64");
    const expected = this.expectedServerSignature as Buffer;
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
      throw saslFailure("the server's signature is wrong: it does not know the password");
    }
    return null;
  }
}
