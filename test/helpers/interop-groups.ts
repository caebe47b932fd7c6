// Consumer-group members as processes of their own — kcat -G, a kafkajs consumer, a Python
// consumer — so that a test can stop one with SIGTERM (it leaves the group) or SIGKILL (only its
// session timeout tells the broker), and see what each member was assigned and what it read.
import { type ChildProcess, spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { fileURLToPath } from "node:url";
import type { BrokerProcess } from "./broker-process.js";
import { type LogLine, waitForLog } from "./interop-broker-log.js";
import { KCAT } from "./interop-kcat.js";
import type { ConsumedMessage } from "./interop-messages.js";
import { PYTHON, type PythonClient } from "./interop-python.js";

/** Session timeout of the members: the broker's minimum, so a killed member is noticed soonest. */
export const SESSION_TIMEOUT_MS = 6000;
/** Frequent heartbeats, so members learn of a rebalance within half a second. */
export const HEARTBEAT_INTERVAL_MS = 500;

export interface MemberOptions {
  bootstrap: string;
  topic: string;
  group: string;
  /** Unique per member: DescribeGroups names members by client id, so the test can tell them apart. */
  clientId: string;
  /** Static membership (KIP-345). */
  instanceId?: string;
  /**
   * Read this many messages, commit exactly what was read (the next offset of each partition
   * read), close and exit. Without it the member auto-commits and reads until stopped.
   */
  commitAfter?: number;
}

type ExitStatus = { code: number | null; signal: NodeJS.Signals | null };

/**
 * A member process. Its output is parsed as it arrives: messages read, partitions assigned and
 * revoked, offsets committed. Every change is an event, so tests wait for conditions rather than
 * for time to pass.
 */
export class GroupMemberProcess {
  readonly messages: ConsumedMessage[] = [];
  /** The partitions assigned now; empty before the first assignment and after a revocation. */
  assignment: number[] = [];
  /** How many assignments the member has received: a rebalance shows as one more. */
  assignmentCount = 0;
  /** What a `commitAfter` member committed, by partition. */
  committed: Map<number, number> | undefined;
  exitStatus: ExitStatus | undefined;
  readonly exited: Promise<ExitStatus>;

  private readonly child: ChildProcess;
  private readonly changes = new EventEmitter();
  private stderrText = "";
  private stopping = false;

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    parse: (member: GroupMemberProcess, stream: "stdout" | "stderr", line: string) => void,
  ) {
    this.child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    this.changes.setMaxListeners(0);
    for (const stream of ["stdout", "stderr"] as const) {
      let partial = "";
      this.child[stream]!.setEncoding("utf8").on("data", (chunk: string) => {
        if (stream === "stderr") this.stderrText += chunk;
        const lines = (partial + chunk).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) parse(this, stream, line);
        this.changed();
      });
    }
    // "close", not "exit": the process's last lines are parsed by then.
    this.exited = new Promise((resolve) => {
      this.child.once("close", (code, signal) => {
        this.exitStatus = { code, signal };
        this.changed();
        resolve(this.exitStatus);
      });
    });
  }

  /** Its stderr: librdkafka's and the scripts' diagnostics, for failure messages. */
  stderr(): string {
    return this.stderrText;
  }

  /** After new output and on exit: wakes up whoever waits on this member. */
  private changed(): void {
    this.changes.emit("change");
  }

  onChange(listener: () => void): () => void {
    this.changes.on("change", listener);
    return () => this.changes.off("change", listener);
  }

  /** Whether the member was told to stop; a member that exits on its own is a failure. */
  get expectedToExit(): boolean {
    return this.stopping;
  }

  /** SIGTERM: the client closes, commits and sends LeaveGroup (a static member does not leave). */
  async stop(): Promise<ExitStatus> {
    this.stopping = true;
    this.child.kill("SIGTERM");
    return this.exited;
  }

  /** SIGKILL: the broker hears nothing; only the session timeout removes the member. */
  async kill(): Promise<ExitStatus> {
    this.stopping = true;
    this.child.kill("SIGKILL");
    return this.exited;
  }

  /** For a `commitAfter` member, which exits by itself. */
  expectExit(): void {
    this.stopping = true;
  }
}

/**
 * Resolves once `condition` holds, re-checking it whenever one of the members prints something
 * or exits. Fails if a member exits without being told to, or after `timeoutMs`, with what each
 * member reported, so a failure says where the group got stuck.
 */
export function waitForMembers(
  members: readonly GroupMemberProcess[],
  condition: () => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const unsubscribes: (() => void)[] = [];
    const finish = (error?: Error) => {
      clearTimeout(timer);
      for (const unsubscribe of unsubscribes) unsubscribe();
      if (error) reject(error);
      else resolve();
    };
    const describe = () =>
      members
        .map(
          (m) =>
            `${m.name}: assigned [${m.assignment.join(",")}] after ${m.assignmentCount} assignments, ` +
            `${m.messages.length} messages read, exit ${JSON.stringify(m.exitStatus)}\n` +
            m.stderr().split("\n").slice(-8).join("\n"),
        )
        .join("\n");
    const check = () => {
      if (condition()) return finish();
      const crashed = members.find((m) => m.exitStatus !== undefined && !m.expectedToExit);
      if (crashed) finish(new Error(`${crashed.name} exited while waiting for ${what}\n${describe()}`));
    };
    const timer = setTimeout(
      () => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${describe()}`)),
      timeoutMs,
    );
    for (const member of members) unsubscribes.push(member.onChange(check));
    check();
  });
}

/** The broker's first log line that matches, failing with `what` if none comes within `timeoutMs`. */
export async function waitForLogLine(
  broker: BrokerProcess,
  matches: (line: LogLine) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<LogLine> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the broker did not log ${what} within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([waitForLog(broker, matches), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Every message the members read, per partition in the order read (each partition has one reader at a time). */
export function messagesOf(members: readonly GroupMemberProcess[]): ConsumedMessage[] {
  return members.flatMap((m) => m.messages);
}

// ---- kcat -G ------------------------------------------------------------------------------

// %p partition, %o offset, %k key, %s value; the interop messages hold no tabs or newlines.
const KCAT_FORMAT = "%p\\t%o\\t%k\\t%s\\n";
// "% Group g rebalanced (memberid m): assigned: topic [0], topic [1]" (or "revoked: ...").
const KCAT_REBALANCE = /^% Group \S+ rebalanced \(memberid \S+\): (assigned|revoked): (.*)$/;

function parseKcatLine(member: GroupMemberProcess, stream: "stdout" | "stderr", line: string): void {
  if (stream === "stdout") {
    const [partition, offset, key, value] = line.split("\t");
    member.messages.push({
      partition: Number(partition),
      offset: Number(offset),
      key: key ?? null,
      value: value ?? null,
      headers: [],
    });
    return;
  }
  const rebalance = KCAT_REBALANCE.exec(line);
  if (!rebalance) return;
  if (rebalance[1] === "revoked") {
    member.assignment = [];
    return;
  }
  member.assignment = [...rebalance[2]!.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
  member.assignmentCount += 1;
}

/**
 * `kcat -G group topic`: librdkafka's balanced consumer (range assignor), reading from the
 * earliest offset where the group has no commit, auto-committing every 5 s (kcat 1.7.1 puts
 * -X auto.commit.interval.ms on the deprecated topic-level property of that name, as -X dump
 * shows, so the default stays). Output is unbuffered (-u), so what kcat read is seen at once,
 * and nothing is lost to a SIGKILL.
 */
export function startKcatMember(options: MemberOptions): GroupMemberProcess {
  const properties: Record<string, string> = {
    "client.id": options.clientId,
    "auto.offset.reset": "earliest",
    "session.timeout.ms": String(SESSION_TIMEOUT_MS),
    "heartbeat.interval.ms": String(HEARTBEAT_INTERVAL_MS),
    ...(options.instanceId !== undefined ? { "group.instance.id": options.instanceId } : {}),
  };
  if (options.commitAfter !== undefined) throw new Error("kcat cannot stop after a number of messages");
  const args = ["-b", options.bootstrap, "-G", options.group, options.topic, "-u", "-f", KCAT_FORMAT];
  for (const [name, value] of Object.entries(properties)) args.push("-X", `${name}=${value}`);
  return new GroupMemberProcess(options.clientId, KCAT, args, parseKcatLine);
}

// ---- the scripts: kafkajs and Python --------------------------------------------------------

/** One JSON object per line on stdout; see interop-groups-kafkajs-member.ts and python/group_member.py. */
type ScriptLine =
  | { assigned: number[] }
  | { revoked: number[] }
  | { committed: Record<string, number> }
  | { partition: number; offset: number; key: string | null; value: string | null };

function parseScriptLine(member: GroupMemberProcess, stream: "stdout" | "stderr", line: string): void {
  if (stream === "stderr" || line === "") return;
  const event = JSON.parse(line) as ScriptLine;
  if ("assigned" in event) {
    member.assignment = [...event.assigned].sort((a, b) => a - b);
    member.assignmentCount += 1;
  } else if ("revoked" in event) {
    member.assignment = [];
  } else if ("committed" in event) {
    member.committed = new Map(Object.entries(event.committed).map(([p, offset]) => [Number(p), offset]));
  } else {
    member.messages.push({ ...event, headers: [] });
  }
}

/** What the scripts read from their one argument. */
export interface ScriptOptions extends MemberOptions {
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
}

function scriptOptions(options: MemberOptions): string {
  const complete: ScriptOptions = {
    ...options,
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
  };
  return JSON.stringify(complete);
}

const KAFKAJS_MEMBER = fileURLToPath(new URL("./interop-groups-kafkajs-member.js", import.meta.url));

/** A kafkajs 2.2.4 consumer (RoundRobinAssigner, auto-commit after each batch) in a Node process of its own. */
export function startKafkajsMember(options: MemberOptions): GroupMemberProcess {
  if (options.instanceId !== undefined) throw new Error("kafkajs 2.2.4 has no static membership");
  return new GroupMemberProcess(
    options.clientId,
    process.execPath,
    [KAFKAJS_MEMBER, scriptOptions(options)],
    parseScriptLine,
  );
}

// Scripts are not compiled: from dist/test/helpers, climb back to the sources.
const PYTHON_MEMBER = fileURLToPath(new URL("../../../test/interop/python/group_member.py", import.meta.url));

/** A confluent-kafka or kafka-python consumer (range assignor, auto-commit) in a Python process. */
export function startPythonMember(client: PythonClient, options: MemberOptions): GroupMemberProcess {
  return new GroupMemberProcess(
    options.clientId,
    PYTHON,
    [PYTHON_MEMBER, client.module, scriptOptions(options)],
    parseScriptLine,
  );
}
