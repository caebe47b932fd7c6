"""A consumer-group member for brook's interop tests, with confluent-kafka or kafka-python.

  group_member.py confluent_kafka|kafka OPTIONS_JSON

OPTIONS_JSON (see ScriptOptions in test/helpers/interop-groups.ts): bootstrap, topic, group,
clientId, sessionTimeoutMs, heartbeatIntervalMs, and optionally instanceId (static membership,
confluent-kafka only) and commitAfter (read that many messages, commit exactly those, close).

stdout, one JSON object per line: {"assigned": [partitions]} and {"revoked": [partitions]} from
the rebalance callbacks, {"partition", "offset", "key", "value"} per message read, and
{"committed": {partition: next offset}} in commitAfter mode. Without commitAfter the member
auto-commits and reads until SIGTERM, then closes (commit, LeaveGroup) and exits 0.
"""
import json
import signal
import sys

POLL_SECONDS = 0.2


def emit(event):
    print(json.dumps(event), flush=True)


def text(data):
    return None if data is None else data.decode("utf-8")


class ReadLog:
    """Prints each message read and remembers, per partition, the next offset to read."""

    def __init__(self, limit):
        self.limit = limit
        self.count = 0
        self.next_offsets = {}

    @property
    def full(self):
        return self.limit is not None and self.count >= self.limit

    def record(self, partition, offset, key, value):
        emit({"partition": partition, "offset": offset, "key": key, "value": value})
        self.count += 1
        self.next_offsets[partition] = offset + 1

    def report_commit(self):
        emit({"committed": self.next_offsets})


class Stopper:
    """SIGTERM ends the poll loop; the client then closes as an application would."""

    def __init__(self):
        self.stopping = False
        signal.signal(signal.SIGTERM, self.stop)

    def stop(self, *_):
        self.stopping = True


def run_confluent(options, stopper):
    from confluent_kafka import Consumer, TopicPartition

    config = {
        "bootstrap.servers": options["bootstrap"],
        "group.id": options["group"],
        "client.id": options["clientId"],
        "auto.offset.reset": "earliest",
        "session.timeout.ms": options["sessionTimeoutMs"],
        "heartbeat.interval.ms": options["heartbeatIntervalMs"],
        "enable.auto.commit": "commitAfter" not in options,
        "auto.commit.interval.ms": 500,
    }
    if "instanceId" in options:
        config["group.instance.id"] = options["instanceId"]
    consumer = Consumer(config)
    consumer.subscribe(
        [options["topic"]],
        on_assign=lambda _, partitions: emit({"assigned": [p.partition for p in partitions]}),
        on_revoke=lambda _, partitions: emit({"revoked": [p.partition for p in partitions]}),
    )
    read = ReadLog(options.get("commitAfter"))
    while not stopper.stopping and not read.full:
        message = consumer.poll(POLL_SECONDS)
        if message is None:
            continue
        if message.error() is not None:
            # End-of-partition events are off by default; anything else is a real failure.
            sys.exit(f"consumer error: {message.error()}")
        read.record(message.partition(), message.offset(), text(message.key()), text(message.value()))
    if read.limit is not None:
        offsets = [TopicPartition(options["topic"], p, offset) for p, offset in read.next_offsets.items()]
        consumer.commit(offsets=offsets, asynchronous=False)
        read.report_commit()
    consumer.close()


def run_kafka_python(options, stopper):
    from kafka import ConsumerRebalanceListener, KafkaConsumer, OffsetAndMetadata, TopicPartition

    if "instanceId" in options:
        sys.exit("kafka-python 2.0.2 has no static membership")

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            emit({"revoked": [p.partition for p in revoked]})

        def on_partitions_assigned(self, assigned):
            emit({"assigned": [p.partition for p in assigned]})

    consumer = KafkaConsumer(
        bootstrap_servers=options["bootstrap"],
        group_id=options["group"],
        client_id=options["clientId"],
        auto_offset_reset="earliest",
        session_timeout_ms=options["sessionTimeoutMs"],
        heartbeat_interval_ms=options["heartbeatIntervalMs"],
        enable_auto_commit="commitAfter" not in options,
        auto_commit_interval_ms=500,
    )
    consumer.subscribe([options["topic"]], listener=Listener())
    read = ReadLog(options.get("commitAfter"))
    while not stopper.stopping and not read.full:
        batches = consumer.poll(timeout_ms=int(POLL_SECONDS * 1000))
        for records in batches.values():
            for message in records:
                if read.full:
                    break  # the rest of the batch is not "read": it is neither printed nor committed
                read.record(message.partition, message.offset, text(message.key), text(message.value))
    if read.limit is not None:
        consumer.commit({
            TopicPartition(options["topic"], p): OffsetAndMetadata(offset, "") for p, offset in read.next_offsets.items()
        })
        read.report_commit()
        consumer.close(autocommit=False)
    else:
        consumer.close()


if __name__ == "__main__":
    client, options = sys.argv[1], json.loads(sys.argv[2])
    stopper = Stopper()
    if client == "confluent_kafka":
        run_confluent(options, stopper)
    elif client == "kafka":
        run_kafka_python(options, stopper)
    else:
        sys.exit(f"unknown client {client}")
