export type { FsyncPolicy } from "./durability.js";
export { FileStorage, type FileStorageOptions, openFileStorage } from "./file-storage.js";
export { createMemoryStorage, MemoryStorage } from "./memory-storage.js";
export type { OpenFile, RandomAccessFile } from "./random-access-file.js";
export type {
  AppendOptions,
  AppendResult,
  PartitionLog,
  ReadResult,
  RetentionLimits,
  Storage,
  StorageOptions,
  TimestampOffset,
  TopicMetadata,
} from "./storage.js";
export { StorageError, type StorageErrorCode } from "./storage-error.js";
