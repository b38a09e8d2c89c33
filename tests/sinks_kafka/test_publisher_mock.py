"""Fast unit tests of the publisher's accounting on librdkafka's built-in mock cluster."""

from __future__ import annotations

from pstt_sinks_kafka.producer import ProducerHandle
from pstt_sinks_kafka.publish import Publisher


def mock_handle(**extra: object) -> ProducerHandle:
    return ProducerHandle("mock", {"test.mock.num.brokers": 1, "linger.ms": 1, **extra})


def test_chunks_are_units_of_accounting_not_waits() -> None:
    with mock_handle() as handle:
        pub = Publisher(handle, "mock-topic", chunk_size=100)
        pub.add_many([b"v%d" % i for i in range(1050)], [b"%d" % i for i in range(1050)])
        assert pub.chunks == 11 and pub.produced == 1050
        assert pub.wait(10)
        result = pub.result().to_dict()
        assert (result["total"], result["sent"], result["failed"]) == (1050, 1050, 0)
        assert result["success_rate"] == 100.0
        assert pub.bytes == sum(len(b"v%d" % i) + len(b"%d" % i) for i in range(1050))
        assert 64 <= pub.latency_count <= 1050 and pub.samples


def test_refused_message_is_counted_as_failed_and_the_rest_go_on() -> None:
    with mock_handle(**{"message.max.bytes": 1000}) as handle:
        pub = Publisher(handle, "mock-topic", chunk_size=2)
        pub.add_many([b"small", b"x" * 5000, b"small"])
        assert pub.wait(10) is False
        assert (pub.produced, pub.sent, pub.failed) == (3, 2, 1)
        assert pub.failed_chunks == {1}
        assert "too large" in pub.error_texts()[0].lower()
        assert pub.sent_bytes == 10


def test_unreported_messages_count_as_failed_and_stay_failed() -> None:
    handle = ProducerHandle("nowhere", {"bootstrap.servers": "127.0.0.1:1",
                                        "message.timeout.ms": 60000})
    try:
        pub = Publisher(handle, "t", chunk_size=10)
        pub.add_many([b"a", b"b", b"c"])
        assert pub.wait(0.3) is False
        assert (pub.sent, pub.failed) == (0, 3)
        assert pub.error_texts() == ["no delivery report within 0.3 s (3 message(s))"]
        assert pub.frozen
    finally:
        handle.producer.purge()
        handle.close(1)
