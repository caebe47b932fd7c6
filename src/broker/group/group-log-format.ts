import { crc32c } from "@node-rs/crc32";
import { ProtocolError } from "../../protocol/protocol-error.js";
import { Reader } from "../../protocol/reader.js";
import { Writer } from "../../protocol/writer.js";
import type { CommittedOffset, GroupRecord, StoredGroup, StoredMember } from "./group-records.js";

/*
 * The group log is a sequence of entries, each written with one write:
 *
 *   int32   length of what follows the checksum
 *   uint32  CRC-32C of what follows the checksum
 *   int8    format version (1)
 *   records, back to back, until the entry ends; each starts with an int8 kind
 *
 * One entry holds the records of one operation (all partitions of one OffsetCommit), so a
 * write torn by a crash loses the whole operation or nothing. Strings and byte fields use
 * the Kafka compact encodings (unsigned varint length + 1), integers are big-endian.
 */

export const GROUP_LOG_FORMAT_VERSION = 1;

const ENTRY_HEADER_BYTES = 8;
/** Records per entry when a snapshot is written out, so no entry grows without bound. */
const SNAPSHOT_RECORDS_PER_ENTRY = 4096;

const RecordKind = { Offset: 0, OffsetRemoved: 1, Group: 2, GroupRemoved: 3 } as const;

/**
 * A group log that is intact but cannot be read: written by a newer brook, or holding a
 * record this version does not understand behind a valid checksum.
 */
export class GroupLogFormatError extends Error {
  override readonly name = "GroupLogFormatError";
  readonly code = "GROUP_LOG_UNREADABLE";
}

export function encodeGroupLogEntry(records: readonly GroupRecord[]): Buffer {
  const body = new Writer(256);
  body.writeInt8(GROUP_LOG_FORMAT_VERSION);
  for (const record of records) writeRecord(body, record);
  const payload = body.toBuffer();
  const header = Buffer.allocUnsafe(ENTRY_HEADER_BYTES);
  header.writeInt32BE(payload.length, 0);
  header.writeUInt32BE(crc32c(payload), 4);
  return Buffer.concat([header, payload]);
}

/** A snapshot as entries of bounded size. */
export function encodeGroupLogEntries(records: readonly GroupRecord[]): Buffer[] {
  const entries: Buffer[] = [];
  for (let at = 0; at < records.length; at += SNAPSHOT_RECORDS_PER_ENTRY) {
    entries.push(encodeGroupLogEntry(records.slice(at, at + SNAPSHOT_RECORDS_PER_ENTRY)));
  }
  return entries;
}

export interface GroupLogContents {
  readonly records: GroupRecord[];
  /** Bytes from the start that hold whole, intact entries. */
  readonly validLength: number;
  /** Why reading stopped before the end (a torn or corrupt entry), or null if it did not. */
  readonly damage: string | null;
}

/**
 * Reads every intact entry from the start of a log. A torn or corrupt entry ends the log
 * there: it is what a crash in the middle of a write leaves, and nothing after it can be
 * trusted. An intact entry this version cannot read throws GroupLogFormatError, since
 * dropping it would silently lose offsets.
 */
export function decodeGroupLog(data: Buffer): GroupLogContents {
  const records: GroupRecord[] = [];
  let at = 0;
  while (at < data.length) {
    if (data.length - at < ENTRY_HEADER_BYTES) {
      return { records, validLength: at, damage: `incomplete entry header at byte ${at}` };
    }
    const length = data.readInt32BE(at);
    if (length < 1 || length > data.length - at - ENTRY_HEADER_BYTES) {
      return { records, validLength: at, damage: `entry at byte ${at} claims ${length} bytes` };
    }
    const payload = data.subarray(at + ENTRY_HEADER_BYTES, at + ENTRY_HEADER_BYTES + length);
    if (crc32c(payload) !== data.readUInt32BE(at + 4)) {
      return { records, validLength: at, damage: `checksum mismatch in entry at byte ${at}` };
    }
    readEntry(payload, at, records);
    at += ENTRY_HEADER_BYTES + length;
  }
  return { records, validLength: at, damage: null };
}

function readEntry(payload: Buffer, position: number, into: GroupRecord[]): void {
  const version = payload.readInt8(0);
  if (version !== GROUP_LOG_FORMAT_VERSION) {
    throw new GroupLogFormatError(
      `group log entry at byte ${position} has format version ${version}; this brook reads version ${GROUP_LOG_FORMAT_VERSION}`,
    );
  }
  const r = new Reader(payload, 1);
  try {
    while (r.remaining > 0) into.push(readRecord(r));
  } catch (error) {
    if (error instanceof GroupLogFormatError) throw error;
    const reason = error instanceof ProtocolError ? error.message : String(error);
    throw new GroupLogFormatError(`group log entry at byte ${position} is intact but unreadable: ${reason}`, {
      cause: error,
    });
  }
}

function writeRecord(w: Writer, record: GroupRecord): void {
  switch (record.kind) {
    case "offset":
      w.writeInt8(RecordKind.Offset);
      w.writeCompactString(record.groupId);
      w.writeCompactString(record.topic);
      w.writeInt32(record.partition);
      writeCommittedOffset(w, record.committed);
      return;
    case "offset-removed":
      w.writeInt8(RecordKind.OffsetRemoved);
      w.writeCompactString(record.groupId);
      w.writeCompactString(record.topic);
      w.writeInt32(record.partition);
      return;
    case "group":
      w.writeInt8(RecordKind.Group);
      w.writeCompactString(record.groupId);
      writeStoredGroup(w, record.group);
      return;
    case "group-removed":
      w.writeInt8(RecordKind.GroupRemoved);
      w.writeCompactString(record.groupId);
      return;
  }
}

function readRecord(r: Reader): GroupRecord {
  const kind = r.readInt8();
  switch (kind) {
    case RecordKind.Offset: {
      const groupId = r.readCompactString();
      const topic = r.readCompactString();
      const partition = r.readInt32();
      return { kind: "offset", groupId, topic, partition, committed: readCommittedOffset(r) };
    }
    case RecordKind.OffsetRemoved: {
      const groupId = r.readCompactString();
      const topic = r.readCompactString();
      return { kind: "offset-removed", groupId, topic, partition: r.readInt32() };
    }
    case RecordKind.Group: {
      const groupId = r.readCompactString();
      return { kind: "group", groupId, group: readStoredGroup(r) };
    }
    case RecordKind.GroupRemoved:
      return { kind: "group-removed", groupId: r.readCompactString() };
    default:
      throw new GroupLogFormatError(`unknown group log record kind ${kind}`);
  }
}

function writeCommittedOffset(w: Writer, committed: CommittedOffset): void {
  w.writeInt64(committed.offset);
  w.writeInt32(committed.leaderEpoch);
  w.writeCompactString(committed.metadata);
  w.writeInt64(committed.commitTimestamp);
  w.writeInt64(committed.expireTimestamp);
}

function readCommittedOffset(r: Reader): CommittedOffset {
  const offset = r.readInt64();
  const leaderEpoch = r.readInt32();
  const metadata = r.readCompactString();
  const commitTimestamp = r.readInt64();
  return { offset, leaderEpoch, metadata, commitTimestamp, expireTimestamp: r.readInt64() };
}

function writeStoredGroup(w: Writer, group: StoredGroup): void {
  w.writeCompactNullableString(group.protocolType);
  w.writeInt32(group.generationId);
  w.writeCompactNullableString(group.protocolName);
  w.writeCompactNullableString(group.leaderId);
  w.writeInt64(group.stateTimestamp);
  w.writeCompactArray(group.members, writeStoredMember);
}

function readStoredGroup(r: Reader): StoredGroup {
  const protocolType = r.readCompactNullableString();
  const generationId = r.readInt32();
  const protocolName = r.readCompactNullableString();
  const leaderId = r.readCompactNullableString();
  const stateTimestamp = r.readInt64();
  const members = r.readCompactArray(readStoredMember);
  return { protocolType, generationId, protocolName, leaderId, stateTimestamp, members };
}

function writeStoredMember(w: Writer, member: StoredMember): void {
  w.writeCompactString(member.memberId);
  w.writeCompactNullableString(member.groupInstanceId);
  w.writeCompactString(member.clientId);
  w.writeCompactString(member.clientHost);
  w.writeInt32(member.rebalanceTimeoutMs);
  w.writeInt32(member.sessionTimeoutMs);
  w.writeCompactBytes(member.subscription);
  w.writeCompactBytes(member.assignment);
}

function readStoredMember(r: Reader): StoredMember {
  const memberId = r.readCompactString();
  const groupInstanceId = r.readCompactNullableString();
  const clientId = r.readCompactString();
  const clientHost = r.readCompactString();
  const rebalanceTimeoutMs = r.readInt32();
  const sessionTimeoutMs = r.readInt32();
  // Copies, so a record kept in memory does not pin the whole log file's buffer.
  const subscription = Buffer.from(r.readCompactBytes());
  const assignment = Buffer.from(r.readCompactBytes());
  return {
    memberId,
    groupInstanceId,
    clientId,
    clientHost,
    rebalanceTimeoutMs,
    sessionTimeoutMs,
    subscription,
    assignment,
  };
}
