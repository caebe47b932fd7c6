// brook's broker has no SASL, so the client's SASL tests put this gateway in front of it: a
// Kafka proxy that adds SaslHandshake and SaslAuthenticate to the broker's ApiVersions, runs the
// server side of PLAIN and SCRAM-SHA-256/512 itself, and refuses any other request on a
// connection that has not authenticated (closing it, as Kafka does).
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import { ErrorCode } from "../../../src/protocol/errors.js";
import { decodeRequestFrame, encodeResponsePayload } from "../../../src/protocol/frames.js";
import { API_CODECS } from "../../../src/protocol/generated/index.js";
import { Reader } from "../../../src/protocol/reader.js";
import type { TestBrokerOptions } from "../../../src/testing/index.js";
import { type ProxiedBroker, startProxiedBroker } from "./kafka-proxy.js";

export interface SaslGatewayOptions {
  /** Mechanisms the gateway enables, e.g. ["PLAIN", "SCRAM-SHA-256"]. */
  mechanisms: string[];
  username: string;
  password: string;
}

const ITERATIONS = 4096;

interface ConnectionState {
  authenticated: boolean;
  mechanism?: string;
  scram?: { clientFirstBare: string; serverFirst: string; saltedPassword: Buffer; hash: "sha256" | "sha512" };
}

function payload(apiKey: number, version: number, correlationId: number, body: unknown): Buffer {
  const codec = Object.values(API_CODECS).find((c) => c.apiKey === apiKey) as (typeof API_CODECS)["SaslHandshake"];
  return Buffer.concat(
    encodeResponsePayload(apiKey, version, correlationId, (w) => codec.encodeResponse(w, version, body as never)),
  );
}

export async function startSaslGateway(
  options: SaslGatewayOptions,
  brokerOptions: TestBrokerOptions = {},
): Promise<ProxiedBroker> {
  const states = new Map<number, ConnectionState>();
  const stateOf = (connection: number) => {
    let state = states.get(connection);
    if (!state) {
      state = { authenticated: false };
      states.set(connection, state);
    }
    return state;
  };

  const authenticate = (
    state: ConnectionState,
    token: Buffer,
  ): { errorCode: number; message?: string; reply: Buffer } => {
    const failed = (message: string) => ({
      errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED,
      message,
      reply: Buffer.alloc(0),
    });
    if (state.mechanism === "PLAIN") {
      const [, user, password] = token.toString("utf8").split("\0");
      if (user !== options.username || password !== options.password) return failed("Invalid username or password");
      state.authenticated = true;
      return { errorCode: 0, reply: Buffer.alloc(0) };
    }
    const hash = state.mechanism === "SCRAM-SHA-256" ? "sha256" : "sha512";
    const text = token.toString("utf8");
    if (!state.scram) {
      const clientFirstBare = text.slice(text.indexOf(",", text.indexOf(",") + 1) + 1);
      const attributes = new Map(clientFirstBare.split(",").map((p) => [p[0], p.slice(2)]));
      if (attributes.get("n") !== options.username) return failed("Authentication failed: unknown user");
      const salt = randomBytes(16);
      const serverFirst = `r=${attributes.get("r")}${randomBytes(18).toString("base64")},s=${salt.toString("base64")},i=${ITERATIONS}`;
      const saltedPassword = pbkdf2Sync(options.password, salt, ITERATIONS, hash === "sha256" ? 32 : 64, hash);
      state.scram = { clientFirstBare, serverFirst, saltedPassword, hash };
      return { errorCode: 0, reply: Buffer.from(serverFirst) };
    }
    const { clientFirstBare, serverFirst, saltedPassword } = state.scram;
    const withoutProof = text.slice(0, text.lastIndexOf(",p="));
    const proof = Buffer.from(text.slice(text.lastIndexOf(",p=") + 3), "base64");
    const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
    const storedKey = createHash(hash).update(createHmac(hash, saltedPassword).update("Client Key").digest()).digest();
    const signature = createHmac(hash, storedKey).update(authMessage).digest();
    const clientKey = Buffer.from(proof.map((byte, i) => byte ^ (signature[i] as number)));
    const computed = createHash(hash).update(clientKey).digest();
    if (computed.length !== storedKey.length || !timingSafeEqual(computed, storedKey)) {
      return failed("Authentication failed during authentication due to invalid credentials with SASL mechanism");
    }
    state.authenticated = true;
    const serverKey = createHmac(hash, saltedPassword).update("Server Key").digest();
    return {
      errorCode: 0,
      reply: Buffer.from(`v=${createHmac(hash, serverKey).update(authMessage).digest("base64")}`),
    };
  };

  return startProxiedBroker(
    {
      onRequest(info, frame) {
        const state = stateOf(info.connection);
        if (info.apiKey === API_CODECS.ApiVersions.apiKey) return "forward";
        if (info.apiKey === API_CODECS.SaslHandshake.apiKey) {
          const { body } = decodeRequestFrame(frame);
          const request = API_CODECS.SaslHandshake.decodeRequest(body, info.apiVersion);
          const enabled = options.mechanisms.includes(request.mechanism);
          if (enabled) state.mechanism = request.mechanism;
          return {
            respond: payload(info.apiKey, info.apiVersion, info.correlationId, {
              errorCode: enabled ? 0 : ErrorCode.UNSUPPORTED_SASL_MECHANISM,
              mechanisms: options.mechanisms,
            }),
          };
        }
        if (info.apiKey === API_CODECS.SaslAuthenticate.apiKey && state.mechanism) {
          const { body } = decodeRequestFrame(frame);
          const request = API_CODECS.SaslAuthenticate.decodeRequest(body, info.apiVersion);
          const result = authenticate(state, request.authBytes);
          return {
            respond: payload(info.apiKey, info.apiVersion, info.correlationId, {
              errorCode: result.errorCode,
              errorMessage: result.message ?? null,
              authBytes: result.reply,
              sessionLifetimeMs: 0,
            }),
          };
        }
        return state.authenticated ? "forward" : "close";
      },
      onResponse(info, frame) {
        if (info.apiKey !== API_CODECS.ApiVersions.apiKey) return "forward";
        // The broker's list plus the two SASL APIs (ApiVersions responses use header v0).
        const reader = new Reader(frame, 4);
        const response = API_CODECS.ApiVersions.decodeResponse(reader, info.apiVersion);
        response.apiKeys.push(
          { apiKey: API_CODECS.SaslHandshake.apiKey, minVersion: 0, maxVersion: 1 },
          { apiKey: API_CODECS.SaslAuthenticate.apiKey, minVersion: 0, maxVersion: 2 },
        );
        return { replace: payload(info.apiKey, info.apiVersion, info.correlationId, response) };
      },
    },
    brokerOptions,
  );
}
