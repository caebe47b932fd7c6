import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { BrookError } from "../../src/client/errors.js";
import { createSaslExchange, ScramExchange } from "../../src/client/sasl.js";

describe("SASL mechanisms", () => {
  it("SCRAM-SHA-256 matches the exchange of RFC 7677 section 3", async () => {
    const exchange = new ScramExchange("sha256", "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
    assert.equal(exchange.start().toString(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    const clientFinal = await exchange.next(
      Buffer.from("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"),
    );
    assert.equal(
      clientFinal?.toString(),
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    );
    assert.equal(await exchange.next(Buffer.from("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")), null);
  });

  it("SCRAM refuses a server that does not prove it knows the password", async () => {
    const exchange = new ScramExchange("sha256", "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
    exchange.start();
    await exchange.next(
      Buffer.from("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"),
    );
    await assert.rejects(exchange.next(Buffer.from("v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")), {
      code: "BROOK_SASL_FAILED",
      message: /signature is wrong/,
    });
  });

  it("SCRAM refuses a server nonce that does not extend the client's, and server errors", async () => {
    const exchange = new ScramExchange("sha512", "user", "pencil", "abc");
    exchange.start();
    await assert.rejects(exchange.next(Buffer.from("r=xyz123,s=c2FsdA==,i=4096")), /nonce/);
    const refused = new ScramExchange("sha512", "user", "pencil", "abc");
    refused.start();
    await assert.rejects(refused.next(Buffer.from("e=unknown-user")), (error: BrookError) => {
      assert.equal(error.code, "BROOK_SASL_FAILED");
      assert.match(error.message, /unknown-user/);
      return true;
    });
  });

  it("escapes '=' and ',' in SCRAM user names (RFC 5802 5.1)", () => {
    const exchange = new ScramExchange("sha256", "a=b,c", "pw", "n0nce");
    assert.equal(exchange.start().toString(), "n,,n=a=3Db=2Cc,r=n0nce");
  });

  it("PLAIN sends authzid, user and password separated by NUL, in one message", async () => {
    const exchange = createSaslExchange({ mechanism: "plain", username: "alice", password: "s3cret" });
    assert.equal(exchange.mechanism, "PLAIN");
    assert.equal(exchange.start().toString(), "\0alice\0s3cret");
    assert.equal(await exchange.next(Buffer.alloc(0)), null);
  });
});
