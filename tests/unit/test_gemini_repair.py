"""The repairs' arithmetic: shares always add up to 100 and keep the ranking; text is clipped at
a word boundary within its cap."""

from hypothesis import given
from hypothesis import strategies as st

from diagpro.adapters.gemini.repair import ELLIPSIS, Repairs, clip_at_word, shares_to_100

RAW = st.lists(st.integers(0, 1000), min_size=2, max_size=9).filter(lambda r: sum(r) > 0)


@given(RAW)
def test_shares_add_up_to_100_and_keep_the_order_of_the_causes(raw):
    shares = shares_to_100(raw)
    assert sum(shares) == 100 and min(shares) >= 0
    causes, scaled = raw[:-1], shares[:-1]
    for i in range(len(causes)):
        for j in range(len(causes)):
            if causes[i] > causes[j]:
                assert scaled[i] >= scaled[j]
    # The residue goes to the top cause, which stays on top.
    assert scaled.index(max(scaled)) == causes.index(max(causes))


def test_shares_already_at_100_are_left_alone():
    assert shares_to_100([45, 25, 15, 15]) == [45, 25, 15, 15]
    fix = Repairs()
    fix.shares([45, 25, 15, 15], "likelihoods")
    assert fix.notes == ()


@given(st.text(alphabet="ab ,", min_size=0, max_size=400), st.integers(10, 300))
def test_clipping_keeps_within_the_cap_and_keeps_at_least_half(text, limit):
    clipped = Repairs().clip(text, limit, "x")
    assert len(clipped) <= limit
    if len(text) > limit:
        assert clipped.endswith(ELLIPSIS)
        assert len(clipped) >= limit // 2 - len(ELLIPSIS)


def test_one_long_word_is_cut_mid_word_rather_than_lost():
    assert clip_at_word("P0301-" * 40, 20) == "P0301-P0301-P0301-P…"
    assert clip_at_word("a new coil and a new plug", 15) == "a new coil and…"
