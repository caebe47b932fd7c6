import { createMemoryStorage } from "../../../src/broker/storage/memory-storage.js";
import { describeStorageContract } from "./storage-contract.js";

describeStorageContract("memory", async (options) => createMemoryStorage(options));
