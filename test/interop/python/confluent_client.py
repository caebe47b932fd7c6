"""confluent-kafka-python (librdkafka) as a producer or group consumer for brook's interop tests.

  confluent_client.py produce BOOTSTRAP TOPIC
      stdin: one JSON message per line, {"key": str, "value": str, "headers": [[str, str], ...]}
      stdout: one line per acknowledged message, {"key", "partition", "offset"}; exit 1 if any failed.
  confluent_client.py consume BOOTSTRAP TOPIC GROUP COUNT
      stdout: one line per message read, {"partition", "offset", "timestamp", "key", "value", "headers"},
      until COUNT arrived; exit 1 if none arrives for IDLE_SECONDS.
"""
import json
import sys
import time

from confluent_kafka import Consumer, Producer

IDLE_SECONDS = 20


def text(data):
    return None if data is None else data.decode("utf-8")


def produce(bootstrap, topic):
    # murmur2_random: the Java client's partitioner, so the test can predict each key's partition.
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "partitioner": "murmur2_random"})
    failures = []

    def on_delivery(error, message):
        if error is not None:
            failures.append(str(error))
            return
        print(json.dumps({"key": text(message.key()), "partition": message.partition(), "offset": message.offset()}))

    for line in sys.stdin:
        message = json.loads(line)
        headers = [(key, value.encode("utf-8")) for key, value in message["headers"]]
        while True:
            try:
                producer.produce(topic, key=message["key"], value=message["value"], headers=headers, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.1)  # the local queue is full: serve delivery reports to make room
        producer.poll(0)
    remaining = producer.flush(30)
    if failures or remaining:
        sys.exit(f"{len(failures)} deliveries failed ({failures[:3]}), {remaining} not acknowledged")


def consume(bootstrap, topic, group, count):
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    consumer.subscribe([topic])
    received = 0
    last_arrival = time.monotonic()
    while received < count:
        message = consumer.poll(0.5)
        if message is None:
            if time.monotonic() - last_arrival > IDLE_SECONDS:
                sys.exit(f"no message for {IDLE_SECONDS} s after {received} of {count}")
            continue
        if message.error() is not None:
            sys.exit(f"consumer error: {message.error()}")
        received += 1
        last_arrival = time.monotonic()
        print(json.dumps({
            "partition": message.partition(),
            "offset": message.offset(),
            "timestamp": message.timestamp()[1],
            "key": text(message.key()),
            "value": text(message.value()),
            "headers": [[key, text(value)] for key, value in message.headers() or []],
        }))
    consumer.commit(asynchronous=False)
    consumer.close()


if __name__ == "__main__":
    command, arguments = sys.argv[1], sys.argv[2:]
    if command == "produce":
        produce(*arguments)
    elif command == "consume":
        consume(arguments[0], arguments[1], arguments[2], int(arguments[3]))
    else:
        sys.exit(f"unknown command {command}")
