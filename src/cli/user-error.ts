/** A mistake of the user's (bad option, unreachable broker): printed as one sentence, no stack trace. */
export class UserError extends Error {
  override readonly name = "UserError";
}
