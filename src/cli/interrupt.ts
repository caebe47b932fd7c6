/**
 * Ctrl-C (or SIGTERM) asks a command to finish cleanly — deliver what was read, commit, leave
 * the group — and a second one exits at once, with the status shells give an interrupted
 * command. Returns the function that removes the handlers.
 */
export function onInterrupt(finish: () => void): () => void {
  let interrupted = false;
  const handler = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    finish();
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}
