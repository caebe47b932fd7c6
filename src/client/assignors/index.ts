import type { Assignor } from "./assignor.js";
import { cooperativeStickyAssignor } from "./cooperative-sticky.js";
import { rangeAssignor } from "./range.js";
import { roundRobinAssignor } from "./round-robin.js";

export type {
  Assignor,
  AssignorMember,
  GroupAssignment,
  TopicPartitions,
} from "./assignor.js";
export { cooperativeStickyAssignor, rangeAssignor, roundRobinAssignor };

/** The built-in strategies, by the protocol name members announce. */
export const BUILTIN_ASSIGNORS = {
  range: rangeAssignor,
  roundrobin: roundRobinAssignor,
  "cooperative-sticky": cooperativeStickyAssignor,
} as const satisfies Record<string, Assignor>;

export type AssignorName = keyof typeof BUILTIN_ASSIGNORS;
