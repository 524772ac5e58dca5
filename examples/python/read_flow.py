#!/usr/bin/env python3
"""Read liveflow's scored flow events from Kafka and print them as JSON lines.

Each record of the flow topic (options.flow by default) is one scored event,
keyed by its underlying, encoded as Avro single-object encoding: the bytes
C3 01, the 8-byte CRC-64-AVRO fingerprint of the writer's schema, then the Avro
binary body. With the schema file (schemas/flow_event.avsc) nothing else is
needed to decode it: no schema registry.

A scorer that crashes may write some events again after it restarts; a repeat
carries the same "key" as its first copy, so this reader drops keys it has
already printed (see docs/kafka.md).

    pip install -r requirements.txt
    python read_flow.py --brokers 127.0.0.1:9092 --from-beginning
"""

import argparse
import collections
import io
import json
import sys

import fastavro
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

MAGIC = b"\xc3\x01"


class Decoder:
    """Decodes single-object records written with one schema."""

    def __init__(self, schema_path):
        with open(schema_path) as f:
            self.schema = parse_schema(json.load(f))
        canonical = to_parsing_canonical_form(self.schema)
        self.header = MAGIC + bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))

    def decode(self, value):
        if value is None or len(value) < len(self.header):
            raise ValueError("too short for a single-object Avro record")
        if value[:1] == b"\x00":
            raise ValueError("framed for a schema registry (magic byte 0); "
                             "read it with confluent_kafka.schema_registry's AvroDeserializer")
        if value[:2] != MAGIC:
            raise ValueError("not a single-object Avro record")
        if value[:10] != self.header:
            raise ValueError("written with another schema (fingerprint %s, want %s)"
                             % (value[2:10].hex(), self.header[2:].hex()))
        body = io.BytesIO(value[10:])
        event = fastavro.schemaless_reader(body, self.schema)
        if body.read(1):
            raise ValueError("trailing bytes after the record")
        return event


class SeenKeys:
    """Remembers the last `limit` event keys, to drop repeats."""

    def __init__(self, limit=1_000_000):
        self.keys = collections.OrderedDict()
        self.limit = limit

    def add(self, key):
        if key in self.keys:
            return False
        self.keys[key] = None
        if len(self.keys) > self.limit:
            self.keys.popitem(last=False)
        return True


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--brokers", default="127.0.0.1:9092", help="Kafka bootstrap servers")
    p.add_argument("--topic", default="options.flow")
    p.add_argument("--schema", default="../../schemas/flow_event.avsc", help="path of flow_event.avsc")
    p.add_argument("--from-beginning", action="store_true", help="start at the oldest record instead of new ones")
    p.add_argument("--until-end", action="store_true", help="stop at the end of the topic as it was at start")
    p.add_argument("--underlying", help="print only events of these underlyings, comma-separated")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the brokers")
    args = p.parse_args()

    decoder = Decoder(args.schema)
    only = {u.strip().upper() for u in args.underlying.split(",")} if args.underlying else None
    consumer = Consumer({
        "bootstrap.servers": args.brokers,
        # No consumer group is needed to read: partitions are assigned below.
        "group.id": "liveflow-python-example",
        "enable.auto.commit": False,
        # The scorer's records are not transactional; read_committed (the
        # librdkafka default) also stays right if they ever are.
        "isolation.level": "read_committed",
    })
    try:
        meta = consumer.list_topics(args.topic, timeout=args.timeout)
    except KafkaException as e:
        sys.exit("read_flow: cannot reach Kafka at %s: %s" % (args.brokers, e))
    tmeta = meta.topics.get(args.topic)
    if tmeta is None or tmeta.error is not None:
        sys.exit("read_flow: topic %s does not exist" % args.topic)

    assignment, remaining = [], {}
    for pid in sorted(tmeta.partitions):
        low, high = consumer.get_watermark_offsets(TopicPartition(args.topic, pid), timeout=args.timeout)
        start = low if args.from_beginning else high
        assignment.append(TopicPartition(args.topic, pid, start))
        if start < high:
            remaining[pid] = high
    if args.until_end and not remaining:
        return
    consumer.assign(assignment)

    seen, bad, repeats = SeenKeys(), 0, 0
    try:
        while not args.until_end or remaining:
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                sys.exit("read_flow: %s" % msg.error())
            pid, offset = msg.partition(), msg.offset()
            if args.until_end and pid in remaining and offset + 1 >= remaining[pid]:
                del remaining[pid]
            try:
                event = decoder.decode(msg.value())
            except ValueError as e:
                bad += 1
                print("read_flow: partition %d offset %d: %s" % (pid, offset, e), file=sys.stderr)
                continue
            if not seen.add(event["key"]):
                repeats += 1
                continue
            if only is None or event["underlying"] in only:
                print(json.dumps(event, separators=(",", ":")), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
    if repeats:
        print("read_flow: dropped %d repeated events" % repeats, file=sys.stderr)
    if bad:
        sys.exit("read_flow: %d records could not be decoded" % bad)


if __name__ == "__main__":
    main()
