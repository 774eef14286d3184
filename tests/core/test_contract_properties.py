"""Properties of credit maths (issue 14 acceptance): credits never exceed the cap, excluding a
breach never lowers adherence, a version change never alters an earlier month."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from sla_connector.core.contracts import ContractTierTerms, Objective
from sla_connector.core.credits import Band, Bands, CreditShape, FixedShare, PerPoint, round_money
from sla_connector.core.durations import parse_duration
from sla_connector.core.exclusions import Exclusion
from sla_connector.core.objectives import MonthAssessment, Tally
from sla_connector.core.ticket import Ticket
from tests.core.contracts_support import at, audit, contract_policy, counted, p1, version

OCT = (2026, 10)
shares = st.integers(min_value=1, max_value=10_000).map(lambda n: Decimal(n) / 10_000)
credits: st.SearchStrategy[CreditShape] = st.one_of(
    shares.map(FixedShare),
    st.builds(PerPoint, shares, st.none() | shares),
    st.lists(st.builds(Band, shares, shares), min_size=1, max_size=4).map(
        lambda bands: Bands(tuple(bands))
    ),
)
objectives = st.builds(
    Objective,
    clock=st.sampled_from(["response", "resolution", "both"]),
    target=shares,
    tier=st.sampled_from([None, "P1", "P2"]),
    min_volume=st.integers(1, 5),
    credit=st.none() | credits,
)
tallies = st.builds(Tally, st.integers(0, 60), st.integers(0, 60), st.integers(0, 5))


@settings(max_examples=200, deadline=None)
@given(
    fee=st.integers(1, 10**9).map(lambda cents: Decimal(cents) / 100),
    cap=st.none() | shares,
    chosen=st.lists(objectives, min_size=1, max_size=5),
    counts=st.dictionaries(
        st.tuples(
            st.sampled_from(["P1", "P2", "P3"]), st.sampled_from(["response", "resolution", "both"])
        ),
        tallies,
        max_size=9,
    ),
    currency=st.sampled_from(["USD", "JPY", "KWD"]),
)
def test_credits_never_exceed_the_cap(
    fee: Decimal,
    cap: Decimal | None,
    chosen: list[Objective],
    counts: dict[tuple[str, str], Tally],
    currency: str,
) -> None:
    terms = {"fee": fee} if cap is None else {"fee": fee, "cap": cap}
    policy = contract_policy(version(*chosen, **terms), currency=currency)
    (october,) = counted(policy, {OCT: counts}, "2026-10-20T00:00:00Z")
    assert october.total is not None and october.cap is not None
    assert october.total <= october.cap <= fee
    assert round_money(october.total, currency) <= round_money(october.cap, currency)
    assert all(o.share >= 0 for o in october.objectives)
    assert october.total <= (october.total_before_cap or 0)


def _tickets(delays: list[int]) -> list[Ticket]:
    return [
        p1((at("2026-10-01T12:00:00Z") + timedelta(hours=7 * i)).isoformat(), delay, f"t{i}")
        for i, delay in enumerate(delays)
    ]


def _actuals(months: list[MonthAssessment]) -> list[Decimal | None]:
    return [result.actual for month in months for result in month.objectives]


@settings(max_examples=60, deadline=None)
@given(delays=st.lists(st.integers(0, 40), min_size=1, max_size=25), pick=st.integers(0, 24))
def test_excluding_a_breach_never_lowers_adherence(delays: list[int], pick: int) -> None:
    policy = contract_policy(
        version(
            Objective("response", Decimal("0.9"), tier="P1"),
            Objective("resolution", Decimal("0.9")),
            Objective("both", Decimal("0.9")),
        ),
        timezone="UTC",
    )
    tickets = _tickets(delays)
    breached = [t for t, delay in zip(tickets, delays, strict=True) if delay > 15]  # P1: 15m
    if not breached:
        return
    chosen = breached[pick % len(breached)]
    now = "2026-11-15T00:00:00Z"
    exclusion = Exclusion("response", "customer", "Dana", 0, "store")
    before = audit(policy, tickets, now)
    after = audit(policy, tickets, now, {(chosen.source, chosen.id): {"response": exclusion}})
    assert sum(r.excluded for m in after for r in m.objectives) >= 1
    for was, is_now in zip(_actuals(before), _actuals(after), strict=True):
        assert was is None or is_now is None or is_now >= was


@settings(max_examples=40, deadline=None)
@given(
    delays=st.lists(st.integers(0, 40), min_size=1, max_size=30),
    renewal=st.integers(0, 75).map(lambda days: date(2026, 9, 15) + timedelta(days=days)),
    new_target=shares,
    new_fee=st.integers(100, 10**7).map(Decimal),
)
def test_a_version_change_never_alters_an_earlier_month(
    delays: list[int], renewal: date, new_target: Decimal, new_fee: Decimal
) -> None:
    objective = Objective("response", Decimal("0.9"), tier="P1", credit=PerPoint(Decimal("0.01")))
    first = version(objective, start=date(2026, 1, 1))
    tickets = [
        p1((at("2026-09-01T12:00:00Z") + timedelta(hours=61 * i)).isoformat(), d, f"t{i}")
        for i, d in enumerate(delays)
    ]
    now = "2026-12-05T00:00:00Z"
    alone = audit(contract_policy(first), tickets, now)
    renewed = audit(
        contract_policy(
            first,
            version(
                Objective("response", new_target, tier="P1", credit=FixedShare(Decimal("0.1"))),
                start=renewal,
                fee=new_fee,
                tiers={"P1": ContractTierTerms(response=parse_duration("5m"))},
            ),
        ),
        tickets,
        now,
    )
    earlier = (renewal.year, renewal.month)
    assert [m for m in alone if m.month < earlier] == [m for m in renewed if m.month < earlier]
