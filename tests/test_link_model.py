"""orderprobe.probes.emulation.link.Pipe: the per-direction link model, driven with explicit times (no TUN,
no threads), so each property is checked exactly. Packets are fake 1500-byte IPv4 frames."""

from __future__ import annotations

import random

import pytest

from orderprobe.probes.emulation.link import Direction, Pipe
from orderprobe.probes.emulation.packet import directions
from orderprobe.profiles.models import Loss, Network

PACKET = bytes(1496)  # + a 4-byte index = 1500


def run(params: Direction, n: int, every_s: float, seed: int = 1) -> tuple[Pipe, list[tuple[float, float]]]:
    """Offer ``n`` packets ``every_s`` apart; return (pipe, [(sent, due)] of the delivered ones)."""
    pipe = Pipe(params, random.Random(seed))
    sent: list[float] = []
    for i in range(n):
        sent.append(i * every_s)
        pipe.offer(PACKET + i.to_bytes(4, "big"), i * every_s)
    out = []
    while (due := pipe.next_due()) is not None:
        for packet in pipe.pop_due(due):
            out.append((sent[int.from_bytes(packet[-4:], "big")], due))
    return pipe, out


def test_delay_is_added_to_every_packet() -> None:
    _, out = run(Direction(delay_ms=300), 10, 0.05)
    assert [round(due - sent, 6) for sent, due in out] == [0.3] * 10


def test_rate_serialises_packets_and_the_queue_drops_its_tail() -> None:
    # 1500 B at 1200 kbit/s = 10 ms each; 20 packets offered at once into a queue of 5
    pipe, out = run(Direction(rate_kbps=1200, queue_packets=5), 20, 0.0)
    assert len(out) == 5 and pipe.stats["queue_full"] == 15
    assert [round(due, 6) for _, due in out] == [0.01, 0.02, 0.03, 0.04, 0.05]


def test_jitter_varies_the_delay_without_reordering() -> None:
    _, out = run(Direction(delay_ms=100, jitter_ms=20), 2000, 0.05)
    delays = [due - sent for sent, due in out]
    dues = [due for _, due in out]
    assert dues == sorted(dues)  # FIFO
    mean = sum(delays) / len(delays)
    sd = (sum((d - mean) ** 2 for d in delays) / len(delays)) ** 0.5
    assert 0.095 < mean < 0.105 and 0.017 < sd < 0.023


def test_random_loss_rate() -> None:
    pipe, out = run(Direction(loss=0.05), 20000, 0.001)
    assert 0.045 < pipe.stats["lost"] / 20000 < 0.055


def mean_burst(lost_flags: list[bool]) -> float:
    runs, current = [], 0
    for lost in lost_flags:
        if lost:
            current += 1
        elif current:
            runs.append(current)
            current = 0
    return sum(runs) / len(runs)


@pytest.mark.parametrize(("burst", "expected"), [(None, 1.05), (4, 4.0)])
def test_gilbert_elliott_keeps_the_rate_and_makes_bursts(burst: float | None, expected: float) -> None:
    pipe = Pipe(Direction(loss=0.05, burst=burst), random.Random(7))
    flags = []
    for i in range(40000):
        before = pipe.stats["lost"]
        pipe.offer(PACKET, i * 0.001)
        flags.append(pipe.stats["lost"] > before)
    assert 0.043 < sum(flags) / len(flags) < 0.057
    assert abs(mean_burst(flags) - expected) < expected * 0.15


def test_network_maps_to_directions() -> None:
    net = Network(name="x", rtt_ms=400, down_kbps=400, up_kbps=200, up_delay_ms=150, jitter_ms=10,
                  loss=Loss(rate=0.01, burst=3), queue_packets=50)  # fmt: skip
    up, down = directions(net)
    assert (up.delay_ms, down.delay_ms, up.rate_kbps, down.rate_kbps) == (150, 250, 200, 400)
    assert up.loss == down.loss == 0.01 and up.burst == 3 and up.queue_packets == 50 and up.jitter_ms == 10
    even = directions(Network(name="y", rtt_ms=170, down_kbps=None, up_kbps=None))
    assert even[0].delay_ms == even[1].delay_ms == 85 and even[1].rate_kbps is None
