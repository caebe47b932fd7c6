import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect as connectTcp } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { createServer as createTlsServer } from "node:tls";
import { Cluster } from "../../src/client/cluster.js";
import type { BrookError } from "../../src/client/errors.js";
import type { SaslMechanismName } from "../../src/client/sasl.js";
import { startBroker } from "../../src/testing/index.js";
import { hasProgram, skipUnless } from "../helpers/requirements.js";
import { startSaslGateway } from "./helpers/sasl-gateway.js";

const FAST_RETRY = { timeoutMs: 1000, initialDelayMs: 10, maxDelayMs: 50 };

/** A self-signed certificate for 127.0.0.1, made with openssl for this test run. */
function selfSignedCertificate(t: TestContext): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), "brook-tls-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const result = spawnSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      join(dir, "key.pem"),
      "-out",
      join(dir, "cert.pem"),
    ],
    { encoding: "utf8" },
  );
  assert.equal(result.status, 0, result.stderr);
  return { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) };
}

/** A broker behind a TLS terminator that it advertises, so every client connection is TLS. */
async function startTlsBroker(t: TestContext, credentials: { key: Buffer; cert: Buffer }): Promise<string> {
  let brokerPort = 0;
  const server = createTlsServer(credentials, (secure) => {
    const plain = connectTcp({ host: "127.0.0.1", port: brokerPort });
    secure.pipe(plain).pipe(secure);
    secure.on("error", () => plain.destroy());
    plain.on("error", () => secure.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const tlsPort = (server.address() as { port: number }).port;
  const broker = await startBroker({ advertisedPort: tlsPort });
  brokerPort = broker.broker.listenAddress.port;
  t.after(async () => {
    await broker.stop();
    await new Promise((resolve) => server.close(resolve));
  });
  return `127.0.0.1:${tlsPort}`;
}

describe("TLS", () => {
  it("connects with TLS to a broker whose certificate the client trusts", async (t) => {
    if (!skipUnless(t, hasProgram("openssl", ["version"]), "openssl")) return;
    const credentials = selfSignedCertificate(t);
    const bootstrap = await startTlsBroker(t, credentials);
    const cluster = new Cluster({ brokers: [bootstrap], tls: { ca: credentials.cert } });
    t.after(() => cluster.close());
    const [topic] = await cluster.topics(["over-tls"], { allowAutoTopicCreation: true });
    assert.equal(topic?.name, "over-tls");
  });

  it("refuses an untrusted certificate at once, without retrying", async (t) => {
    if (!skipUnless(t, hasProgram("openssl", ["version"]), "openssl")) return;
    const bootstrap = await startTlsBroker(t, selfSignedCertificate(t));
    const cluster = new Cluster({ brokers: [bootstrap], tls: true, retry: { timeoutMs: 10_000 } });
    t.after(() => cluster.close());
    const started = Date.now();
    await assert.rejects(cluster.connect(), (error: BrookError) => {
      assert.equal(error.code, "BROOK_CONNECTION_FAILED");
      assert.equal(error.retriable, false);
      assert.match(error.message, /self-signed certificate/);
      return true;
    });
    assert.ok(Date.now() - started < 2000, "not retried for 10 s");
  });
});

describe("SASL", () => {
  const cases: [SaslMechanismName, string][] = [
    ["plain", "PLAIN"],
    ["scram-sha-256", "SCRAM-SHA-256"],
    ["scram-sha-512", "SCRAM-SHA-512"],
  ];
  for (const [mechanism, name] of cases) {
    it(`authenticates with ${name} before any other request`, async (t) => {
      const gateway = await startSaslGateway({ mechanisms: [name], username: "alice", password: "wonderland" });
      t.after(() => gateway.stop());
      const cluster = new Cluster({
        brokers: [gateway.bootstrap],
        sasl: { mechanism, username: "alice", password: "wonderland" },
      });
      t.after(() => cluster.close());
      const [topic] = await cluster.topics(["after-sasl"], { allowAutoTopicCreation: true });
      assert.equal(topic?.name, "after-sasl");
      const apis = gateway.proxy.requests.filter((r) => r.connection === 0).map((r) => r.apiKey);
      const authenticateRounds = mechanism === "plain" ? [36] : [36, 36];
      assert.deepEqual(apis.slice(0, 2 + authenticateRounds.length), [18, 17, ...authenticateRounds]);
    });

    it(`fails ${name} with a wrong password, without retrying`, async (t) => {
      const gateway = await startSaslGateway({ mechanisms: [name], username: "alice", password: "wonderland" });
      t.after(() => gateway.stop());
      const cluster = new Cluster({
        brokers: [gateway.bootstrap],
        sasl: { mechanism, username: "alice", password: "looking-glass" },
        retry: { timeoutMs: 10_000 },
      });
      t.after(() => cluster.close());
      await assert.rejects(cluster.connect(), (error: BrookError) => {
        assert.equal(error.code, "SASL_AUTHENTICATION_FAILED");
        assert.equal(error.kafkaCode, 58);
        assert.equal(error.retriable, false);
        assert.match(error.message, new RegExp(`SASL ${name} authentication as 'alice' failed on broker`));
        return true;
      });
    });
  }

  it("names the mechanisms the broker enables when it does not enable the client's", async (t) => {
    const gateway = await startSaslGateway({ mechanisms: ["SCRAM-SHA-512"], username: "a", password: "b" });
    t.after(() => gateway.stop());
    const cluster = new Cluster({
      brokers: [gateway.bootstrap],
      sasl: { mechanism: "plain", username: "a", password: "b" },
      retry: FAST_RETRY,
    });
    t.after(() => cluster.close());
    await assert.rejects(cluster.connect(), {
      code: "UNSUPPORTED_SASL_MECHANISM",
      message: /does not enable SASL mechanism PLAIN \(it enables SCRAM-SHA-512\)/,
    });
  });
});
