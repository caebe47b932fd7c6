import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Broker, type BrokerOptions } from "../broker/broker.js";
import { BrokerFaults } from "./faults.js";

export {
  type ApiName,
  type ApiSelector,
  BrokerFaults,
  type DelayOptions,
  type DropOptions,
  type ErrorSelector,
  type FailOptions,
  type InjectedFault,
} from "./faults.js";

export interface TestBrokerOptions extends Omit<BrokerOptions, "dataDir" | "port" | "host"> {
  /** Keep the log in memory (default) or in a temporary directory removed by stop(). */
  storage?: "memory" | "disk";
}

export interface TestBroker {
  /** "127.0.0.1:PORT", for a client's bootstrap servers. */
  readonly bootstrap: string;
  readonly host: string;
  readonly port: number;
  /** The temporary data directory when storage is "disk". */
  readonly dataDir: string | null;
  /** The broker itself, for tests that need its internals. */
  readonly broker: Broker;
  /** Failed requests, delayed responses and dropped connections, for tests of error handling. */
  readonly faults: BrokerFaults;
  /** Stops the broker and removes its temporary data. */
  stop(): Promise<void>;
}

/**
 * Starts a brook broker inside the test process, on a free port of 127.0.0.1. Topics are
 * created on first use; group rebalances start without delay.
 */
export async function startBroker(options: TestBrokerOptions = {}): Promise<TestBroker> {
  const { storage = "memory", ...brokerOptions } = options;
  const dataDir = storage === "disk" ? await mkdtemp(join(tmpdir(), "brook-test-")) : null;
  const broker = await Broker.start({
    ...brokerOptions,
    host: "127.0.0.1",
    port: 0,
    dataDir,
    fsync: options.fsync ?? "never",
  });
  const faults = new BrokerFaults();
  broker.dispatcher.interceptor = faults;
  return {
    bootstrap: broker.bootstrap,
    host: broker.config.advertisedHost,
    port: broker.config.advertisedPort,
    dataDir,
    broker,
    faults,
    async stop() {
      faults.clear();
      await broker.close();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
