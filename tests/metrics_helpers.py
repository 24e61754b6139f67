"""Reading /metrics as Prometheus does: prometheus_client's own text parser, samples by name
and labels."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

TOKEN = "metrics-token-for-the-tests-0123456789"  # noqa: S105 - a test value


def parse(text: str) -> dict[tuple[str, frozenset], float]:
    """{(sample name, labels): value} for every sample in an exposition."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels) -> float:
    """One sample's value (0 when absent: a counter not moved yet is not written)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: dict, name: str, **labels) -> float:
    """The sum over every sample of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, found), v in samples.items() if n == name and wanted <= found)


def scrape(client, token: str = TOKEN) -> dict:
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    return parse(answer.get_data(as_text=True))
