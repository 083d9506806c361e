"""The webhook scenario's parts (bench/webhooks.py): the delivery mix, the repeats, the transition
check and the targets; and, against the test database, its fixture and count (bench/seed.py)."""

import json
import threading
from collections import Counter
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.webhooks import (
    CAPTURED,
    FAILED,
    MAX_P99_MS,
    PAID,
    PAIR,
    WebhookResult,
    deliveries_build,
    expected_counts,
    mix_events,
    summarize_webhooks,
    transition_verdict,
    webhook_load,
    webhook_mix,
    webhook_targets,
)


def test_the_issue_mix_is_750_distinct_events_of_every_kind():
    mix = webhook_mix(750)
    assert mix == {CAPTURED: 250, PAIR: 125, PAID: 125, FAILED: 125}
    assert mix_events(mix) == 750


@pytest.mark.parametrize("distinct", [1, 5, 6, 13, 749])
def test_any_number_of_distinct_events_is_met_exactly(distinct):
    assert mix_events(webhook_mix(distinct)) == distinct


def test_no_events_is_refused():
    with pytest.raises(ValueError, match="positive"):
        webhook_mix(0)


def _events(count: int) -> list[dict]:
    return [
        {"id": f"evt_{n}", "name": "payment.captured", "body": f'{{"n":{n}}}', "signature": f"s{n}"}
        for n in range(count)
    ]


def test_deliveries_are_every_event_once_plus_exact_repeats_shuffled():
    events = _events(750)
    deliveries = deliveries_build(events, duplicates=250)

    assert len(deliveries) == 1000
    by_id = Counter(delivery["id"] for delivery in deliveries)
    assert set(by_id) == {event["id"] for event in events}, "every event is sent"
    assert sum(by_id.values()) - len(by_id) == 250, "250 deliveries repeat an event"
    originals = {event["id"]: event for event in events}
    assert all(delivery == originals[delivery["id"]] for delivery in deliveries), "a repeat is the same bytes"
    assert deliveries[:750] != events, "shuffled"
    assert deliveries_build(events, duplicates=250) == deliveries, "reproducible"


def test_no_repeats_is_each_event_once():
    assert sorted(d["id"] for d in deliveries_build(_events(5), duplicates=0)) == [f"evt_{n}" for n in range(5)]


EXPECTED = expected_counts(mix={CAPTURED: 2, PAIR: 1, PAID: 1, FAILED: 1}, items_placing=7)


def test_what_the_mix_must_leave_in_the_database():
    """Four orders placed (a pair places once), its second event ignored, one failure, nothing left over."""
    assert EXPECTED == {
        "orders_placed": 4,
        "items_placed": 7,
        "placements": 7,
        "orders_still_awaiting": 1,
        "failures_recorded": 1,
        "events_stored": 6,
        "events_processed": 5,
        "events_ignored": 1,
        "events_failed": 0,
        "events_pending": 0,
        "flagged": 0,
    }


def test_the_transition_check_passes_only_when_every_count_is_exact():
    assert transition_verdict(expected=EXPECTED, counted={**EXPECTED, "mail_tasks": 4})["ok"]

    twice = transition_verdict(expected=EXPECTED, counted={**EXPECTED, "placements": 8})
    assert (twice["ok"], twice["wrong"]) == (False, ["placements"])
    unprocessed = transition_verdict(
        expected=EXPECTED, counted={**EXPECTED, "events_pending": 2, "events_processed": 3}
    )
    assert unprocessed["wrong"] == ["events_processed", "events_pending"]
    assert transition_verdict(expected=EXPECTED, counted={})["wrong"] == list(EXPECTED)


GOOD = WebhookResult(
    deliveries=1000, seconds=4.0, per_s=250.0, p50_ms=20.0, p99_ms=60.0, max_ms=90.0, non_2xx=0, errors=0
)
DRAINED = {"drained": True, "left": 0, "drain_s": 3.5, "end_to_end_s": 7.0}


def _misses(result=GOOD, counted=EXPECTED, drain=DRAINED) -> list[str]:
    verdict = transition_verdict(expected=EXPECTED, counted=counted)
    targets = webhook_targets(result=result, verdict=verdict, drain=drain)
    assert len(targets) == 4
    return [target["target"].split(",", 1)[1].strip() for target in targets if not target["ok"]]


def test_targets_all_met():
    assert _misses() == []


def test_targets_missed_one_at_a_time():
    assert _misses(result=replace(GOOD, non_2xx=1)) == ["every delivery answered 2xx"]
    assert _misses(result=replace(GOOD, errors=1)) == ["every delivery answered 2xx"]
    assert _misses(result=replace(GOOD, p99_ms=MAX_P99_MS)) == [f"p99 < {MAX_P99_MS:.0f} ms at concurrency 16"]
    assert _misses(drain={"drained": False, "left": 3}) == ["the worker processed every event within 180 s"]
    assert _misses(counted={**EXPECTED, "failures_recorded": 0}) == [
        "exactly the right transitions, failures and stored events"
    ]


def test_the_summary_counts_non_2xx_and_takes_percentiles():
    result = summarize_webhooks([0.01] * 98 + [0.2, 0.3], [200] * 99 + [500], errors=2, seconds=2.0)
    assert (result.deliveries, result.per_s, result.non_2xx, result.errors) == (100, 50.0, 1, 2)
    assert result.p50_ms == pytest.approx(10.0) and result.max_ms == pytest.approx(300.0)
    assert result.statuses == {200: 99, 500: 1}


class _Recorder(BaseHTTPRequestHandler):
    """Answers like the endpoint: 200 for a new event id, 500 for the one named "evt_boom"."""

    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        event_id = self.headers["X-Razorpay-Event-Id"]
        self.received.append((event_id, self.headers["X-Razorpay-Signature"], body, self.headers["Connection"]))
        answer = json.dumps({"event_id": event_id, "outcome": "PENDING"}).encode()
        self.send_response(500 if event_id == "evt_boom" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def test_the_load_sends_every_delivery_once_with_its_headers_and_times_every_answer():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.received = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    deliveries = [
        {"id": f"evt_{n}", "signature": f"sig{n}", "body": json.dumps({"event": "payment.captured", "n": n})}
        for n in range(30)
    ] + [{"id": "evt_boom", "signature": "sigx", "body": "{}"}]
    try:
        result = webhook_load(f"http://127.0.0.1:{server.server_port}/hook/", deliveries, concurrency=4)
    finally:
        server.shutdown()
        server.server_close()
    assert (result.deliveries, result.errors, result.non_2xx, result.statuses) == (31, 0, 1, {200: 30, 500: 1})
    assert sorted(_Recorder.received) == sorted(
        (d["id"], d["signature"], d["body"].encode(), "close") for d in deliveries
    )
    assert 0 < result.p50_ms <= result.p99_ms <= result.max_ms


def test_a_server_that_is_not_there_counts_as_failed_deliveries():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    port = server.server_port
    server.server_close()  # nothing listens there now
    result = webhook_load(f"http://127.0.0.1:{port}/hook/", [{"id": "e", "signature": "s", "body": "{}"}] * 3)
    assert (result.deliveries, result.errors) == (0, 3)


# --- against the test database: the fixture, real deliveries through the endpoint, the count ---------


@pytest.mark.django_db
def test_the_seeded_deliveries_through_the_endpoint_make_exactly_the_expected_transitions(client, capsys):
    """The immediate task backend processes each delivery as it comes; the bench uses a db_worker."""
    from bench.seed import bench_webhook_count, bench_webhook_drain, bench_webhook_seed
    from bench.webhooks import WEBHOOK_PATH
    from payments.models import WebhookEvent, WebhookOutcome

    fixture = bench_webhook_seed(distinct_events=13, payers=3, warmup=4)
    assert len(fixture["events"]) == 13 and fixture["orders"] == sum(fixture["mix"].values())
    assert len(fixture["warmup"]) == 4
    deliveries = deliveries_build(fixture["events"], duplicates=5)
    for delivery in [*fixture["warmup"], *deliveries]:  # the warm-up is stored and ignored, never counted
        response = client.post(
            WEBHOOK_PATH,
            data=delivery["body"].encode(),
            content_type="application/json",
            HTTP_X_RAZORPAY_SIGNATURE=delivery["signature"],
            HTTP_X_RAZORPAY_EVENT_ID=delivery["id"],
        )
        assert response.status_code == 200, response.content

    assert bench_webhook_drain(load_ended_at=0.0, timeout=1.0)["drained"]
    counted = bench_webhook_count()
    verdict = transition_verdict(expected=fixture["expected"], counted=counted)
    assert verdict["ok"], verdict["rows"]

    warmed = WebhookEvent.objects.filter(event_id__in=[delivery["id"] for delivery in fixture["warmup"]])
    assert set(warmed.values_list("outcome", flat=True)) == {WebhookOutcome.IGNORED}

    # The next run starts over: the last run's orders and events are gone, its warm-up too.
    again = bench_webhook_seed(distinct_events=2, payers=3)
    assert (again["deleted_orders"], again["deleted_events"]) == (fixture["orders"], 13)
    assert bench_webhook_count()["events_stored"] == 0 and not warmed.exists()
    capsys.readouterr()  # the JSON lines for run.py
