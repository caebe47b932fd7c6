"""kafka-python as a producer or group consumer for brook's interop tests.

Same commands, input and output as confluent_client.py:
  kafka_python_client.py produce BOOTSTRAP TOPIC
  kafka_python_client.py consume BOOTSTRAP TOPIC GROUP COUNT
"""
import json
import sys
import time

from kafka import KafkaConsumer, KafkaProducer

IDLE_SECONDS = 20


def text(data):
    return None if data is None else data.decode("utf-8")


def produce(bootstrap, topic):
    # kafka-python's default partitioner is the Java client's murmur2.
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    pending = []
    for line in sys.stdin:
        message = json.loads(line)
        headers = [(key, value.encode("utf-8")) for key, value in message["headers"]]
        future = producer.send(
            topic, key=message["key"].encode("utf-8"), value=message["value"].encode("utf-8"), headers=headers
        )
        pending.append((message["key"], future))
    producer.flush(30)
    for key, future in pending:
        metadata = future.get(timeout=30)
        print(json.dumps({"key": key, "partition": metadata.partition, "offset": metadata.offset}))
    producer.close()


def consume(bootstrap, topic, group, count):
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    received = 0
    last_arrival = time.monotonic()
    while received < count:
        batches = consumer.poll(timeout_ms=500)
        if not batches:
            if time.monotonic() - last_arrival > IDLE_SECONDS:
                sys.exit(f"no message for {IDLE_SECONDS} s after {received} of {count}")
            continue
        last_arrival = time.monotonic()
        for records in batches.values():
            for record in records:
                received += 1
                print(json.dumps({
                    "partition": record.partition,
                    "offset": record.offset,
                    "timestamp": record.timestamp,
                    "key": text(record.key),
                    "value": text(record.value),
                    "headers": [[key, text(value)] for key, value in record.headers],
                }))
    consumer.commit()
    consumer.close()


if __name__ == "__main__":
    command, arguments = sys.argv[1], sys.argv[2:]
    if command == "produce":
        produce(*arguments)
    elif command == "consume":
        consume(arguments[0], arguments[1], arguments[2], int(arguments[3]))
    else:
        sys.exit(f"unknown command {command}")
