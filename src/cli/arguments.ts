// Parsers for option values: a mistake is answered with one sentence naming the option.
import { InvalidArgumentError } from "commander";

/** An integer ≥ `min`, e.g. `integer("--partitions", 1)`. */
export function integer(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`${name} must be an integer >= ${min}, not "${value}".`);
    }
    return n;
  };
}
