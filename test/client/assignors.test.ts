import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Assignor, AssignorMember, GroupAssignment, TopicPartitions } from "../../src/client/assignors/index.js";
import { cooperativeStickyAssignor, rangeAssignor, roundRobinAssignor } from "../../src/client/assignors/index.js";

function member(memberId: string, topics: string[], extra: Partial<AssignorMember> = {}): AssignorMember {
  return { memberId, groupInstanceId: null, topics, ownedPartitions: [], generationId: -1, userData: null, ...extra };
}

/** The assignment as { memberId: ["topic-partition", ...] }, for readable comparisons. */
function flat(assignment: GroupAssignment): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [memberId, topics] of assignment) {
    out[memberId] = topics.flatMap(({ topic, partitions }) => partitions.map((p) => `${topic}-${p}`));
  }
  return out;
}

function counts(entries: [string, number][]): Map<string, number> {
  return new Map(entries);
}

describe("range assignor", () => {
  it("gives each member a contiguous range per topic, the first ones one extra", () => {
    const result = rangeAssignor.assign([member("b", ["t"]), member("a", ["t"])], counts([["t", 5]]));
    assert.deepEqual(flat(result), { b: ["t-3", "t-4"], a: ["t-0", "t-1", "t-2"] });
  });

  it("puts the same partition numbers of co-partitioned topics on the same member", () => {
    const result = rangeAssignor.assign(
      [member("a", ["x", "y"]), member("b", ["x", "y"])],
      counts([
        ["x", 4],
        ["y", 4],
      ]),
    );
    assert.deepEqual(flat(result), { a: ["x-0", "x-1", "y-0", "y-1"], b: ["x-2", "x-3", "y-2", "y-3"] });
  });

  it("shares a topic among its subscribers only, skips topics that do not exist, and leaves extra members empty", () => {
    const result = rangeAssignor.assign(
      [member("a", ["x"]), member("b", ["x", "y", "missing"]), member("c", ["y"])],
      counts([
        ["x", 1],
        ["y", 3],
      ]),
    );
    assert.deepEqual(flat(result), { a: ["x-0"], b: ["y-0", "y-1"], c: ["y-2"] });
  });

  it("orders static members by instance id, before dynamic ones", () => {
    const result = rangeAssignor.assign(
      [
        member("a", ["t"]),
        member("z-1", ["t"], { groupInstanceId: "instance-2" }),
        member("y-1", ["t"], { groupInstanceId: "instance-1" }),
      ],
      counts([["t", 3]]),
    );
    assert.deepEqual(flat(result), { a: ["t-2"], "z-1": ["t-1"], "y-1": ["t-0"] });
  });
});

describe("roundrobin assignor", () => {
  it("deals all partitions, sorted by topic and number, to the members in turn", () => {
    const result = roundRobinAssignor.assign(
      [member("b", ["y", "x"]), member("a", ["x", "y"])],
      counts([
        ["y", 2],
        ["x", 3],
      ]),
    );
    assert.deepEqual(flat(result), { b: ["x-1", "y-0"], a: ["x-0", "x-2", "y-1"] });
  });

  it("skips members not subscribed to a partition's topic", () => {
    const result = roundRobinAssignor.assign(
      [member("a", ["x"]), member("b", ["x", "y"]), member("c", ["y"])],
      counts([
        ["x", 2],
        ["y", 3],
      ]),
    );
    assert.deepEqual(flat(result), { a: ["x-0"], b: ["x-1", "y-1"], c: ["y-0", "y-2"] });
  });
});

describe("cooperative-sticky assignor", () => {
  const owned = (topic: string, ...partitions: number[]): TopicPartitions => ({ topic, partitions });

  it("balances a new group", () => {
    const result = flat(
      cooperativeStickyAssignor.assign(
        [member("a", ["t"]), member("b", ["t"]), member("c", ["t"])],
        counts([["t", 7]]),
      ),
    );
    assert.deepEqual(
      Object.values(result)
        .map((list) => list.length)
        .sort(),
      [2, 2, 3],
    );
    assert.equal(new Set(Object.values(result).flat()).size, 7);
  });

  it("keeps owned partitions and holds back those that move until their owner gave them up", () => {
    const before = [
      member("a", ["t"], { ownedPartitions: [owned("t", 0, 1, 2)], generationId: 4 }),
      member("b", ["t"], { ownedPartitions: [owned("t", 3, 4, 5)], generationId: 4 }),
      member("c", ["t"]),
    ];
    const first = flat(cooperativeStickyAssignor.assign(before, counts([["t", 6]])));
    // a and b keep two each and lose one; c gets nothing yet: its partitions are still owned.
    assert.equal(first.a?.length, 2);
    assert.equal(first.b?.length, 2);
    assert.deepEqual(first.c, []);
    assert.ok(first.a?.every((p) => ["t-0", "t-1", "t-2"].includes(p)));
    assert.ok(first.b?.every((p) => ["t-3", "t-4", "t-5"].includes(p)));

    // a and b revoked one each and rejoined: the second round hands them to c.
    const toOwned = (list: string[] | undefined) => [owned("t", ...(list ?? []).map((p) => Number(p.slice(2))))];
    const second = flat(
      cooperativeStickyAssignor.assign(
        [
          member("a", ["t"], { ownedPartitions: toOwned(first.a), generationId: 5 }),
          member("b", ["t"], { ownedPartitions: toOwned(first.b), generationId: 5 }),
          member("c", ["t"], { ownedPartitions: [], generationId: 5 }),
        ],
        counts([["t", 6]]),
      ),
    );
    assert.deepEqual(second.a, first.a);
    assert.deepEqual(second.b, first.b);
    assert.equal(second.c?.length, 2);
  });

  it("hands a departed member's partitions out at once, and the others keep theirs", () => {
    const result = flat(
      cooperativeStickyAssignor.assign(
        [
          member("a", ["t"], { ownedPartitions: [owned("t", 0, 1)], generationId: 2 }),
          member("b", ["t"], { ownedPartitions: [owned("t", 2, 3)], generationId: 2 }),
        ],
        counts([["t", 6]]),
      ),
    );
    assert.deepEqual(result, { a: ["t-0", "t-1", "t-4"], b: ["t-2", "t-3", "t-5"] });
  });

  it("ignores claims from older generations for stickiness, but does not hand such a partition to another member yet", () => {
    const result = flat(
      cooperativeStickyAssignor.assign(
        [
          member("a", ["t"], { ownedPartitions: [owned("t", 0)], generationId: 3 }),
          member("b", ["t"], { ownedPartitions: [owned("t", 1, 2, 3)], generationId: 2 }),
        ],
        counts([["t", 4]]),
      ),
    );
    // b's claims are stale: the four partitions are spread as if unowned, except that b's old
    // ones may go only to b in this round.
    assert.ok(result.a?.includes("t-0"));
    for (const p of result.a ?? []) assert.ok(!["t-1", "t-2", "t-3"].includes(p), `${p} is still b's`);
  });

  it("drops claims two members make in the same generation", () => {
    const result = flat(
      cooperativeStickyAssignor.assign(
        [
          member("a", ["t"], { ownedPartitions: [owned("t", 0)], generationId: 3 }),
          member("b", ["t"], { ownedPartitions: [owned("t", 0)], generationId: 3 }),
          member("c", ["t"], { generationId: 3 }),
        ],
        counts([["t", 1]]),
      ),
    );
    assert.deepEqual(result.c, []);
  });

  it("gives partitions to subscribers of their topic only, and ignores owned partitions of topics that are gone", () => {
    const result = flat(
      cooperativeStickyAssignor.assign(
        [
          member("a", ["x"], { ownedPartitions: [owned("gone", 0)], generationId: 1 }),
          member("b", ["x", "y"], { generationId: 1 }),
        ],
        counts([
          ["x", 2],
          ["y", 2],
        ]),
      ),
    );
    assert.deepEqual(result, { a: ["x-0", "x-1"], b: ["y-0", "y-1"] });
  });

  it("converges to a balanced assignment, never giving a partition to a member while another still owns it", () => {
    const arbitraryGroup = fc.record({
      partitions: fc.integer({ min: 1, max: 40 }),
      members: fc.uniqueArray(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 8 }),
      initial: fc.array(fc.integer({ min: 0, max: 7 }), { maxLength: 40 }),
      joiners: fc.integer({ min: 0, max: 3 }),
    });
    fc.assert(
      fc.property(arbitraryGroup, ({ partitions, members, initial, joiners }) => {
        // Start from any valid ownership (each partition owned by at most one member), then add joiners.
        const ownership = new Map<string, number[]>(members.map((id) => [`m${id}`, []]));
        initial.slice(0, partitions).forEach((owner, partition) => {
          const id = members[owner % members.length];
          ownership.get(`m${id}`)?.push(partition);
        });
        for (let j = 0; j < joiners; j++) ownership.set(`joiner${j}`, []);
        let generation = 7;
        for (let round = 0; round < 4; round++) {
          const group = [...ownership].map(([memberId, list]) =>
            member(memberId, ["t"], { ownedPartitions: [owned("t", ...list)], generationId: generation }),
          );
          const assignment = cooperativeStickyAssignor.assign(group, counts([["t", partitions]]));
          let revoked = false;
          const next = new Map<string, number[]>();
          for (const [memberId, list] of ownership) {
            const given = assignment.get(memberId)?.[0]?.partitions ?? [];
            for (const p of given) {
              for (const [other, theirs] of ownership) {
                if (other !== memberId)
                  assert.ok(!theirs.includes(p), `t-${p} given to ${memberId} while ${other} owns it`);
              }
            }
            if (list.some((p) => !given.includes(p))) revoked = true;
            next.set(memberId, [...given]);
          }
          ownership.clear();
          for (const [memberId, list] of next) ownership.set(memberId, list);
          generation++;
          if (!revoked) break;
        }
        const loads = [...ownership.values()].map((list) => list.length);
        assert.equal(
          loads.reduce((a, b) => a + b, 0),
          partitions,
        );
        assert.ok(Math.max(...loads) - Math.min(...loads) <= 1, `unbalanced: ${loads}`);
      }),
    );
  });
});

describe("assignors", () => {
  const all: Assignor[] = [rangeAssignor, roundRobinAssignor, cooperativeStickyAssignor];

  it("name the protocols as Kafka's clients do", () => {
    assert.deepEqual(
      all.map((a) => [a.name, a.rebalanceProtocol]),
      [
        ["range", "eager"],
        ["roundrobin", "eager"],
        ["cooperative-sticky", "cooperative"],
      ],
    );
  });

  it("assign every partition exactly once, and list every member", () => {
    for (const assignor of all) {
      const members = [member("a", ["x", "y"]), member("b", ["x"]), member("c", ["z"])];
      const result = assignor.assign(
        members,
        counts([
          ["x", 5],
          ["y", 2],
        ]),
      );
      assert.deepEqual([...result.keys()].sort(), ["a", "b", "c"], assignor.name);
      const everything = Object.values(flat(result)).flat().sort();
      assert.deepEqual(everything, ["x-0", "x-1", "x-2", "x-3", "x-4", "y-0", "y-1"], assignor.name);
    }
  });
});
