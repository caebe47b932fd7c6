// Run by file-group-store.test.ts as a child process that the test kills with SIGKILL:
// commits ever larger offsets through the coordinator and prints each acknowledged one.
import { FileGroupStore } from "../../../src/broker/group/file-group-store.js";
import type { FsyncPolicy } from "../../../src/broker/group/group-log-file.js";
import { commitRequest, startCoordinator } from "./helpers.js";

const [dir, policy] = process.argv.slice(2) as [string, string];
const fsync: FsyncPolicy = policy === "interval" ? { intervalMs: 5 } : (policy as "always" | "never");
const coordinator = await startCoordinator({ store: new FileGroupStore({ dir, fsync }) });
for (let offset = 1; ; offset++) {
  const partition = offset % 3;
  const [topic] = await coordinator.commitOffsets(commitRequest({ [partition]: offset }));
  if (topic?.partitions[0]?.errorCode !== 0) throw new Error("commit failed");
  process.stdout.write(`${partition} ${offset}\n`);
}
