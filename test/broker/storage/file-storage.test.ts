import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { openFileStorage } from "../../../src/broker/storage/file-storage.js";
import { describeStorageContract } from "./storage-contract.js";

const root = mkdtempSync(join(tmpdir(), "brook-file-storage-"));
after(() => rmSync(root, { recursive: true, force: true }));
let directories = 0;

// fsync "always" is the strictest path (data readable only once synced); a small index
// interval makes the tests' small segments use their indexes.
describeStorageContract("file", (options) =>
  openFileStorage({
    dataDir: join(root, `contract-${directories++}`),
    fsync: "always",
    indexIntervalBytes: 150,
    ...options,
  }),
);
