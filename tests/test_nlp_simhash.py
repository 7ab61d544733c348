"""SimHash of post tokens and the banded near-duplicate index."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from pathlib import Path
from unittest.mock import patch

import jieba
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nlp.simhash as simhash_module
from nlp.simhash import NO_CONTENT, NearDuplicateIndex, hamming, simhash64, token_hash64

REPO = Path(__file__).resolve().parents[1]

_STOPWORDS = set("的了是在就都也和很啊吧呢吗能") | {"一下", "这样", "这个", "就是", "已经"}


def tokens(text: str) -> list[str]:
    """What the analysis pipeline hands simhash64: jieba words, lowercased, no punctuation or stopwords."""
    return [word.lower() for word in jieba.lcut(text) if re.search(r"\w", word) and word not in _STOPWORDS]


# A copy-paste 水军 soft ad (57 tokens once normalized) and the edits a wave makes to dodge dedup.
SOFT_AD = (
    "启航汽车新款启航X7真的太香了！今天去4S店试驾了一下，加速平顺，底盘扎实，隔音效果比同价位的合资车好太多，"
    "车机系统反应很快，语音助手能听懂方言。二十万出头就能买到这样的配置，续航实测能跑五百多公里，"
    "家用通勤完全够了，身边好几个朋友都已经下定了，犹豫的姐妹们冲就完事了！#启航X7# #新能源汽车#"
)
SOFT_AD_COPIES = {
    "one word swapped": SOFT_AD.replace("今天", "周末"),
    "two words swapped": SOFT_AD.replace("今天", "周末").replace("姐妹们", "兄弟们"),
    "emoticon added": SOFT_AD + "[赞]",
    "punctuation changed": SOFT_AD.replace("！", "!!!").replace("，", "～ "),
    "repost prefix": "转发 " + SOFT_AD,
}
# Other posts about the same brand and model, sharing much of the ad's vocabulary.
SAME_BRAND_POSTS = {
    "complaint": "启航汽车的售后太让人失望了，车子买了不到三个月中控屏就黑屏，去售后排队等了一上午，"
    "师傅说要返厂等配件，至少两周，期间也不给代步车，投诉电话一直打不通。",
    "news": "启航汽车今天发布三季度财报，营收同比增长百分之三十二，新能源车型销量占比首次超过一半，"
    "公司表示明年将在华东新建一座电池工厂。",
    "owner review": "开了半年启航X7说说真实感受：续航冬天打七折，车机偶尔卡顿，语音助手听不懂方言，"
    "不过底盘和隔音确实不错，二十万的价位算中规中矩吧。",
}


def reference_simhash(post_tokens: list[str]) -> int:
    """The textbook definition, one bit at a time: bit i is set when most token occurrences set it."""
    hashes = [token_hash64(token) for token in post_tokens]
    result = 0
    for bit in range(64):
        if 2 * sum((h >> bit) & 1 for h in hashes) > len(hashes):
            result |= 1 << bit
    return result


def reference_clusters(posts: list[tuple[str, int]], max_distance: int) -> dict[str, str]:
    """Brute force over every earlier post: join the closest within reach, the earliest among equals."""
    clusters: dict[str, str] = {}
    earlier: list[tuple[str, int]] = []
    for key, simhash in posts:
        if key in clusters:
            continue
        closest: tuple[int, str] | None = None
        for other_key, other_hash in earlier:
            distance = hamming(simhash, other_hash)
            within_reach = NO_CONTENT not in (simhash, other_hash) and distance <= max_distance
            if within_reach and (closest is None or distance < closest[0]):
                closest = (distance, other_key)
        clusters[key] = key if closest is None else clusters[closest[1]]
        earlier.append((key, simhash))
    return clusters


def flip_bits(simhash: int, *bits: int) -> int:
    for bit in bits:
        simhash ^= 1 << bit
    return simhash


# ------------------------------------------------------------------------------------------ simhash64


def test_identical_token_lists_hash_the_same() -> None:
    assert simhash64(tokens(SOFT_AD)) == simhash64(tokens(SOFT_AD))
    assert simhash64(tuple(tokens(SOFT_AD))) == simhash64(tokens(SOFT_AD))


def test_hash_values_are_pinned_so_a_change_of_hashing_is_noticed() -> None:
    # stored simhashes and cluster ids depend on these values: changing them is a data migration
    assert token_hash64("启航汽车") == 0xFC6B_57E0_3788_4BFE
    assert simhash64(["启航", "汽车", "星河", "手机", "续航", "启航"]) == 0x3A07_9952_6154_1D04


def test_hash_is_the_same_in_every_process() -> None:
    script = "from nlp.simhash import simhash64; print(simhash64(['启航', '汽车', '续航', '启航']))"
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            cwd=REPO,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert outputs == {f"{simhash64(['启航', '汽车', '续航', '启航'])}\n"}


def test_a_single_token_hashes_to_its_own_token_hash() -> None:
    assert simhash64(["星河手机"]) == token_hash64("星河手机")


@given(st.lists(st.sampled_from(["启航", "汽车", "星河", "手机", "续航", "售后", "黑屏", "x7", "doge"]), max_size=40))
def test_simhash_matches_the_bit_by_bit_definition_with_term_frequency(post_tokens: list[str]) -> None:
    assert simhash64(post_tokens) == reference_simhash(post_tokens)


@pytest.mark.parametrize("length", [254, 255, 256, 300, 511, 1200])
def test_long_posts_match_the_bit_by_bit_definition(length: int) -> None:
    rng = random.Random(length)
    vocabulary = [f"词{i}" for i in range(rng.randint(2, 400))]
    post_tokens = [rng.choice(vocabulary) for _ in range(length)]
    assert simhash64(post_tokens) == reference_simhash(post_tokens)


def test_word_order_does_not_change_the_hash() -> None:
    # features are single tokens (see the module comment on why not bigrams)
    ad = tokens(SOFT_AD)
    assert simhash64(list(reversed(ad))) == simhash64(ad)


def test_hash_fits_in_64_bits() -> None:
    for text in [SOFT_AD, *SAME_BRAND_POSTS.values()]:
        assert 0 <= simhash64(tokens(text)) < 2**64


def test_empty_post_hashes_to_no_content() -> None:
    assert simhash64([]) == NO_CONTENT == 0


# ------------------------------------------------------------------------------- what counts as a copy


@pytest.mark.parametrize("edit", SOFT_AD_COPIES)
def test_water_army_copy_stays_within_three_bits(edit: str) -> None:
    distance = hamming(simhash64(tokens(SOFT_AD)), simhash64(tokens(SOFT_AD_COPIES[edit])))
    assert distance <= 3


@pytest.mark.parametrize("post", SAME_BRAND_POSTS)
def test_unrelated_post_about_the_same_brand_is_far_away(post: str) -> None:
    distance = hamming(simhash64(tokens(SOFT_AD)), simhash64(tokens(SAME_BRAND_POSTS[post])))
    assert distance >= 15


def test_water_army_wave_folds_into_one_cluster_and_other_posts_stay_apart() -> None:
    index = NearDuplicateIndex()
    assert index.add("weibo:1", simhash64(tokens(SOFT_AD))) == "weibo:1"
    for n, copy in enumerate(SOFT_AD_COPIES.values(), start=2):
        assert index.add(f"weibo:{n}", simhash64(tokens(copy))) == "weibo:1"
    for n, post in enumerate(SAME_BRAND_POSTS.values(), start=100):
        assert index.add(f"weibo:{n}", simhash64(tokens(post))) == f"weibo:{n}"


# ------------------------------------------------------------------------------------ the banded index


@st.composite
def hashes_with_near_copies(draw: st.DrawFn) -> list[int]:
    """Random 64-bit hashes, about half of them copies of an earlier one with a few bits flipped."""
    hashes: list[int] = []
    for _ in range(draw(st.integers(1, 60))):
        if len(hashes) > 0 and draw(st.booleans()):
            flipped = draw(st.sets(st.integers(0, 63), max_size=6))
            hashes.append(flip_bits(draw(st.sampled_from(hashes)), *flipped))
        else:
            hashes.append(draw(st.integers(0, 2**64 - 1)))
    return hashes


@settings(max_examples=300)
@given(
    hashes=hashes_with_near_copies(),
    max_distance=st.sampled_from([3, 3, 0, 1, 5, 7]),
    loop_scan_max=st.sampled_from([64, 0]),  # 0: every bucket scanned with numpy
)
def test_banded_index_matches_brute_force_pairwise_clustering(
    hashes: list[int], max_distance: int, loop_scan_max: int
) -> None:
    posts = [(f"weibo:{n}", simhash) for n, simhash in enumerate(hashes)]
    index = NearDuplicateIndex(max_distance)
    with patch.object(simhash_module, "_LOOP_SCAN_MAX", loop_scan_max):
        assigned = {key: index.add(key, simhash) for key, simhash in posts}
    assert assigned == reference_clusters(posts, max_distance)


def test_wave_of_near_copies_filling_large_buckets_matches_brute_force() -> None:
    rng = random.Random(42)
    sources = [rng.getrandbits(64) for _ in range(4)]
    hashes = [flip_bits(rng.choice(sources), *rng.sample(range(64), rng.randint(0, 5))) for _ in range(800)]
    posts = [(f"weibo:{n}", simhash) for n, simhash in enumerate(hashes)]
    index = NearDuplicateIndex()
    assigned = {key: index.add(key, simhash) for key, simhash in posts}
    assert assigned == reference_clusters(posts, max_distance=3)


def test_every_post_within_three_bits_is_found_whichever_band_agrees() -> None:
    base = 0x0123_4567_89AB_CDEF
    for bits in ([0, 16, 32], [15, 31, 47], [48, 63, 5], [1, 2, 3], [60, 61, 62]):
        index = NearDuplicateIndex()
        index.add("base", base)
        assert index.add("copy", flip_bits(base, *bits)) == "base"


def test_post_four_bits_away_starts_its_own_cluster() -> None:
    index = NearDuplicateIndex()
    index.add("base", 0x0123_4567_89AB_CDEF)
    assert index.add("other", flip_bits(0x0123_4567_89AB_CDEF, 0, 1, 2, 3)) == "other"


def test_new_post_joins_the_closest_of_several_clusters() -> None:
    post = 0xF0F0_F0F0_0F0F_0F0F
    index = NearDuplicateIndex()
    index.add("three bits away", flip_bits(post, 0, 1, 2))
    index.add("two bits away", flip_bits(post, 40, 41))  # 5 bits from the first: a cluster of its own
    assert index.add("new", post) == "two bits away"


@pytest.mark.parametrize("distance", [1, 2, 3])
def test_equally_close_clusters_go_to_the_earliest_added(distance: int) -> None:
    # Seeded clusters, since two posts this close would otherwise share one. The earlier post differs
    # in the first band, so the later one is met first while scanning.
    post = 0xF0F0_F0F0_0F0F_0F0F
    index = NearDuplicateIndex()
    index.add("weibo:1", flip_bits(post, *range(distance)), cluster="earlier")
    index.add("weibo:2", flip_bits(post, *range(40, 40 + distance)), cluster="later")
    assert index.add("new", post) == "earlier"


def test_clusters_are_single_link_along_a_chain_of_small_edits() -> None:
    first = 0xF0F0_F0F0_0F0F_0F0F
    index = NearDuplicateIndex()
    index.add("first", first)
    assert index.add("edited", flip_bits(first, 1, 2, 3)) == "first"
    assert index.add("edited again", flip_bits(first, 1, 2, 3, 4, 5)) == "first"  # 5 bits from the first post


def test_adding_the_same_key_again_returns_its_cluster_and_changes_nothing() -> None:
    index = NearDuplicateIndex()
    index.add("weibo:1", 0xAAAA_AAAA_AAAA_AAAA)
    index.add("weibo:2", 0xAAAA_AAAA_AAAA_AAAB)
    assert index.add("weibo:2", 0x5555_5555_5555_5555, cluster="elsewhere") == "weibo:1"
    assert len(index) == 2
    assert index.add("weibo:3", 0x5555_5555_5555_5555) == "weibo:3"


def test_seeded_cluster_id_is_kept_and_near_copies_join_it() -> None:
    index = NearDuplicateIndex()
    assert index.add("weibo:1", 0xAAAA_AAAA_AAAA_AAAA, cluster="weibo:0") == "weibo:0"
    assert index.add("weibo:2", 0xAAAA_AAAA_AAAA_AAAB) == "weibo:0"
    assert index.cluster_of("weibo:2") == "weibo:0"


def test_seeded_cluster_id_is_kept_even_next_to_another_cluster() -> None:
    index = NearDuplicateIndex()
    index.add("weibo:1", 0xAAAA_AAAA_AAAA_AAAA)
    assert index.add("weibo:2", 0xAAAA_AAAA_AAAA_AAAB, cluster="from-store") == "from-store"


def test_empty_posts_each_get_their_own_cluster() -> None:
    index = NearDuplicateIndex()
    assert index.add("weibo:1", simhash64([])) == "weibo:1"
    assert index.add("weibo:2", simhash64([])) == "weibo:2"
    assert index.add("weibo:3", 0b101) == "weibo:3"  # two bits from 0, yet nothing to compare with
    assert index.add("weibo:4", simhash64([]), cluster="seeded") == "seeded"
    assert len(index) == 4


def test_identical_posts_share_the_first_ones_cluster() -> None:
    index = NearDuplicateIndex()
    simhash = simhash64(tokens(SOFT_AD))
    clusters = {index.add(f"weibo:{n}", simhash) for n in range(50)}
    assert clusters == {"weibo:0"}
    assert index.add("weibo:copy", flip_bits(simhash, 7)) == "weibo:0"


def test_cluster_of_an_unknown_key_is_none() -> None:
    index = NearDuplicateIndex()
    index.add("weibo:1", 0xAAAA_AAAA_AAAA_AAAA)
    assert index.cluster_of("weibo:1") == "weibo:1"
    assert index.cluster_of("weibo:2") is None
    assert len(index) == 1


@pytest.mark.parametrize("simhash", [-1, 2**64])
def test_simhash_outside_64_bits_is_rejected(simhash: int) -> None:
    with pytest.raises(ValueError, match="64-bit"):
        NearDuplicateIndex().add("weibo:1", simhash)


@pytest.mark.parametrize("max_distance", [-1, 64])
def test_max_distance_needs_at_least_one_bit_per_band(max_distance: int) -> None:
    with pytest.raises(ValueError, match="max_distance"):
        NearDuplicateIndex(max_distance)
