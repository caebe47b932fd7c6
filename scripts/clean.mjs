// Removes build output so that files deleted from the sources never linger in dist/.
import { rmSync } from "node:fs";

for (const path of process.argv.slice(2)) rmSync(path, { recursive: true, force: true });
