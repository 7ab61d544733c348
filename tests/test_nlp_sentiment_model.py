"""nlp.sentiment: the model file (.npz), reading labelled data, training, and the shipped model's quality.

The training posts below are invented. The quality check reads the labelled Weibo data set that lives
outside the repository (``../shared/data/sentiment``, or ``$FENGXIANG_SENTIMENT_DATA``) and is skipped without it.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from fengxiang.textmatch import fold
from nlp.sentiment.engines import LinearEngine, shipped_model_path
from nlp.sentiment.features import WORD_PREFIX
from nlp.sentiment.linear import LinearModel, ModelFileError
from nlp.sentiment.train import TrainingDataError, featurize, read_labelled, train
from nlp.tokenizer import Tokenizer

LABELS = ("negative", "neutral", "positive")

NEGATIVE = [
    "刹车失灵差点出事，太吓人了，必须维权",
    "客服电话打了十次都没人接，太差劲了",
    "屏幕碎了也不给保修，垃圾售后",
    "异响问题修了三次还没好，气死了",
    "买了不到一个月就坏了，要求退款",
    "发货慢得要命，等了半个月，失望",
    "续航虚标，一天充三次电，后悔买了",
    "车机天天死机，烦死了[怒]",
    "销售态度恶劣，再也不来了",
    "质量太差，做工粗糙，差评",
    "漏水漏油，这车简直是垃圾",
    "门店推卸责任，投诉无门，气愤",
    "手机发烫严重，玩一会就烫手，难受",
    "刚提车就掉漆，太坑了",
    "退款申请被拒三次，太欺负人了",
    "信号差到打不了电话，崩溃",
    "保养一次收费两千，坑人",
    "系统更新后卡成幻灯片，无语",
    "客服只会复制粘贴，没解决任何问题，失望透顶",
    "差点被自动刹车害死，要求召回",
]
POSITIVE = [
    "提车一个月，开起来很稳，非常满意",
    "拍照效果太棒了，朋友都说好看[赞]",
    "续航很扎实，一天一充完全够用，推荐",
    "客服很耐心，问题很快就解决了，点赞",
    "内饰做工精致，性价比超高，喜欢",
    "系统流畅不卡，用着很舒服",
    "售后小哥服务特别好，感谢",
    "充电速度超快，太惊喜了",
    "全家出游坐着很舒服，孩子很喜欢",
    "外观好看，颜值爆表，爱了",
    "屏幕显示细腻，看剧特别爽",
    "音响效果很棒，开车听歌很享受",
    "试驾体验很好，加速很带劲，开心",
    "手感很好，轻薄又结实，满意",
    "物流很快，包装很用心，好评",
    "智能驾驶很好用，长途不累，推荐",
    "店员热情专业，买得很放心",
    "电池耐用，用了两年还很好，赞",
    "新版本优化得很好，越来越好用了",
    "座椅舒服，空间大，家用首选，很满意",
]
NEUTRAL = [
    "新车将于下周在上海发布",
    "官方公布了十一月的交付数据",
    "门店营业时间调整为早九点到晚八点",
    "新款手机下周一开始预售",
    "发布会定于本周五下午两点举行",
    "售后网点新增了三家",
    "官网更新了车型配置表",
    "今年第三季度财报今日发布",
    "新品将提供黑白两种配色",
    "活动报名截止到本月底",
    "系统版本将分批推送",
    "门店地址：北京市朝阳区",
    "预计明年一季度开始交付",
    "首批供货地区为华东和华南",
    "公司宣布任命新的销售总监",
    "车型分为标准版和长续航版",
    "产品说明书可在官网下载",
    "展台位于二号馆",
    "直播将于晚上八点开始",
    "本次更新包含十二项改进",
]
SMALL_SET = (
    [(text, "negative") for text in NEGATIVE]
    + [(text, "positive") for text in POSITIVE]
    + [(text, "neutral") for text in NEUTRAL]
)
UNSEEN = ["客服不理人，刹车失灵，要求退款", "拍照很好看，很满意[赞]", "发布会下周举行", "完全无关的一句话", ""]


def write_lines(path: Path, lines: list[object]) -> Path:
    text = "".join((line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n" for line in lines)
    path.write_text(text, encoding="utf-8")
    return path


def model_input(texts: list[str], tokenizer: Tokenizer) -> list[tuple[str, list[str]]]:
    """What ``LinearModel.predict_proba`` reads: each post's normalized (folded) text and its tokens."""
    folded = [fold(text) for text in texts]
    return [(text, tokenizer.tokens(text)) for text in folded]


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer()


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tokenizer):
    """A model trained on SMALL_SET, with the very scikit-learn objects ``train()`` fitted."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    fitted: dict[str, object] = {}

    class RecordingVectorizer(TfidfVectorizer):
        def fit_transform(self, raw_documents, y=None):
            fitted["vectorizer"] = self
            return super().fit_transform(raw_documents, y)

    class RecordingClassifier(LogisticRegression):
        def fit(self, X, y, sample_weight=None):
            fitted["classifier"] = self
            return super().fit(X, y, sample_weight)

    path = write_lines(
        tmp_path_factory.mktemp("train") / "small.jsonl", [{"text": t, "sentiment": s} for t, s in SMALL_SET]
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sklearn.feature_extraction.text.TfidfVectorizer", RecordingVectorizer)
        patch.setattr("sklearn.linear_model.LogisticRegression", RecordingClassifier)
        model = train(read_labelled([path]), tokenizer)
    return model, fitted["vectorizer"], fitted["classifier"]


def hand_made_model() -> LinearModel:
    # Coefficients that float16 stores exactly, so a saved file holds the very same model.
    return LinearModel(
        labels=LABELS,
        vocabulary={"差": 0, "好": 1, f"{WORD_PREFIX}刹车": 2, "发布": 3, "[怒]": 4},
        idf=np.array([1.5, 1.25, 2.0, 1.75, 3.0], dtype=np.float32),
        coef=np.array([[2, -1, -1], [-1, -0.5, 1.5], [1, 0, -1], [-0.25, 1, -0.75], [3, -1, -2]], dtype=np.float32),
        intercept=np.array([0.125, 0.25, -0.375], dtype=np.float32),
        meta={"trained_on": ["hand.jsonl"]},
    )


# -- the model file ---------------------------------------------------------------------------------------------------


def test_probabilities_are_a_softmax_over_the_known_features(tokenizer):
    model = hand_made_model()
    probs = model.predict_proba(model_input(["刹车太差了[怒]", "好好好", "下周发布", "无关", ""], tokenizer))
    assert probs.shape == (5, 3)
    assert np.allclose(probs.sum(axis=1), 1.0)
    assert [LABELS[i] for i in probs.argmax(axis=1)] == ["negative", "positive", "neutral", "neutral", "neutral"]
    # a post without any known feature gets the intercept alone
    intercept = np.exp(model.intercept - model.intercept.max())
    assert np.allclose(probs[3], intercept / intercept.sum()) and np.allclose(probs[4], probs[3])
    assert model.predict_proba([]).shape == (0, 3)


def test_save_then_load_gives_identical_probabilities(tmp_path, tokenizer):
    model = hand_made_model()
    model.save(tmp_path / "sub" / "model.npz")
    loaded = LinearModel.load(tmp_path / "sub" / "model.npz")
    documents = model_input(["刹车太差了[怒]", "好", "下周发布会", "无关"], tokenizer)
    assert np.array_equal(loaded.predict_proba(documents), model.predict_proba(documents))
    assert loaded.labels == model.labels and loaded.vocabulary == model.vocabulary
    assert loaded.meta["trained_on"] == ["hand.jsonl"] and "format_version" in loaded.meta


def test_a_trained_model_survives_the_file_round_trip(tmp_path, trained, tokenizer):
    model, _, _ = trained
    documents = model_input(UNSEEN, tokenizer)
    model.save(tmp_path / "m.npz")
    loaded = LinearModel.load(tmp_path / "m.npz")
    # the file keeps coefficients as float16: close to the fitted model, and stable from then on
    assert np.allclose(loaded.predict_proba(documents), model.predict_proba(documents), atol=1e-3)
    loaded.save(tmp_path / "again.npz")
    assert np.array_equal(
        LinearModel.load(tmp_path / "again.npz").predict_proba(documents), loaded.predict_proba(documents)
    )
    assert loaded.vocabulary == model.vocabulary and loaded.meta["trained_on"] == ["small.jsonl"]


def _rewrite(source: Path, target: Path, **changes: np.ndarray) -> Path:
    with np.load(source, allow_pickle=False) as arrays:
        content = {name: arrays[name] for name in arrays.files}
    content.update(changes)
    with target.open("wb") as file:
        np.savez(file, **content)
    return target


def _meta(meta: object) -> np.ndarray:
    return np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)


def test_a_model_of_another_format_version_is_refused_by_name(tmp_path):
    hand_made_model().save(tmp_path / "good.npz")
    future = _rewrite(tmp_path / "good.npz", tmp_path / "future.npz", meta=_meta({"format_version": 99}))
    with pytest.raises(ModelFileError, match="99") as caught:
        LinearModel.load(future)
    assert str(future) in str(caught.value) and "train-sentiment" in str(caught.value)


def test_missing_truncated_and_damaged_files_raise_model_file_error_naming_the_file(tmp_path):
    hand_made_model().save(tmp_path / "good.npz")
    raw = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "truncated.npz").write_bytes(raw[: len(raw) // 2])
    (tmp_path / "tail-cut.npz").write_bytes(raw[:-10])
    quarter = len(raw) // 4  # flip the bytes of the middle half: compressed arrays and their CRCs
    (tmp_path / "corrupted.npz").write_bytes(
        raw[:quarter] + bytes(b ^ 0xFF for b in raw[quarter:-quarter]) + raw[-quarter:]
    )
    (tmp_path / "empty.npz").write_bytes(b"")
    (tmp_path / "text.npz").write_text("这不是模型")
    bad = [
        tmp_path / "missing.npz",
        tmp_path / "truncated.npz",
        tmp_path / "tail-cut.npz",
        tmp_path / "corrupted.npz",
        tmp_path / "empty.npz",
        tmp_path / "text.npz",
        tmp_path,  # a folder
        _rewrite(tmp_path / "good.npz", tmp_path / "no-idf.npz", idf=np.zeros(0, dtype=np.float32)),
        _rewrite(tmp_path / "good.npz", tmp_path / "list-meta.npz", meta=_meta([1, 2])),
        _rewrite(tmp_path / "good.npz", tmp_path / "short-coef.npz", coef=np.zeros((2, 3), dtype=np.float16)),
    ]
    for path in bad:
        with pytest.raises(ModelFileError) as caught:
            LinearModel.load(path)
            pytest.fail(f"{path.name} loaded")
        assert str(path) in str(caught.value), path


def test_the_shipped_model_loads_and_says_what_it_was_trained_on():
    engine = LinearEngine()
    assert engine.model_path == shipped_model_path() and engine.model_path.exists()
    model = engine.model
    assert model.labels == LABELS
    assert model.meta["trained_on"] and not [name for name in model.meta["trained_on"] if "eval" in name]


# -- labelled data --------------------------------------------------------------------------------------------------


def test_read_labelled_takes_labels_and_label_dicts_and_counts_what_it_skips(tmp_path):
    path = write_lines(
        tmp_path / "mixed.jsonl",
        [
            {"text": "刹车失灵", "sentiment": "negative"},
            {"text": "很满意", "sentiment": {"label": "positive", "probs": {"positive": 0.9}}},
            {"text": "发布会", "sentiment": {"label": "neutral"}, "emotion": "neutral"},
            {"text": "惊了", "sentiment": None},
            {"text": "没标", "sentiment": {"label": None}},
            {"text": "也没标"},
            {"text": "哈哈", "sentiment": "happy"},
            "{not json",
            "",
            "   ",
            {"text": "", "sentiment": "negative"},
            [1, 2],
            {"text": 42, "sentiment": "negative"},
        ],
    )
    data = read_labelled([path])
    assert data.texts == ["刹车失灵", "很满意", "发布会"]
    assert data.labels == ["negative", "positive", "neutral"]
    assert data.files == ["mixed.jsonl"]
    assert sum(data.skipped.values()) == 8  # blank lines are not problems
    reasons = " | ".join(data.skipped)
    assert "JSON" in reasons and "happy" in reasons


def test_read_labelled_reads_every_file_in_order(tmp_path):
    first = write_lines(tmp_path / "a.jsonl", [{"text": "好", "sentiment": "positive"}])
    second = write_lines(tmp_path / "b.jsonl", [{"text": "差", "sentiment": {"label": "negative"}}])
    data = read_labelled([first, second])
    assert (data.texts, data.labels, data.files) == (["好", "差"], ["positive", "negative"], ["a.jsonl", "b.jsonl"])


def test_a_file_without_a_labelled_line_is_an_error_naming_it(tmp_path):
    good = write_lines(tmp_path / "good.jsonl", [{"text": "好", "sentiment": "positive"}])
    unlabelled = write_lines(tmp_path / "unlabelled.jsonl", [{"text": "惊了", "sentiment": None}, {"text": "x"}])
    with pytest.raises(TrainingDataError, match=r"unlabelled\.jsonl"):
        read_labelled([good, unlabelled])
    with pytest.raises(TrainingDataError, match=r"empty\.jsonl"):
        read_labelled([write_lines(tmp_path / "empty.jsonl", [])])
    with pytest.raises(TrainingDataError, match=r"nope\.jsonl"):
        read_labelled([tmp_path / "nope.jsonl"])
    (tmp_path / "latin1.jsonl").write_bytes(b'{"text": "caf\xe9", "sentiment": "positive"}\n')
    with pytest.raises(TrainingDataError, match=r"latin1\.jsonl"):
        read_labelled([tmp_path / "latin1.jsonl"])


# -- training -------------------------------------------------------------------------------------------------------


def test_a_model_trained_on_a_small_set_gets_its_own_posts_right(trained, tokenizer):
    model, _, _ = trained
    assert model.labels == LABELS
    texts = [text for text, _ in SMALL_SET]
    probs = model.predict_proba(model_input(texts, tokenizer))
    predicted = [LABELS[i] for i in probs.argmax(axis=1)]
    right = sum(p == label for p, (_, label) in zip(predicted, SMALL_SET, strict=True))
    assert right >= 0.9 * len(SMALL_SET)
    assert model.meta["trained_on"] == ["small.jsonl"]
    assert model.meta["examples"] == {"negative": 20, "positive": 20, "neutral": 20}


def test_prediction_matches_scikit_learn_for_the_same_fitted_model(trained, tokenizer):
    model, vectorizer, classifier = trained
    texts = UNSEEN + NEGATIVE[:2] + NEUTRAL[:2]
    documents = list(featurize(texts, tokenizer))  # what the fitted vectorizer reads
    expected = classifier.predict_proba(vectorizer.transform(documents))
    expected = expected[:, [list(classifier.classes_).index(label) for label in model.labels]]
    got = model.predict_proba(model_input(texts, tokenizer))
    assert np.allclose(got, expected, atol=1e-5), np.abs(got - expected).max()
    assert [model.labels[i] for i in got.argmax(axis=1)] == list(classifier.predict(vectorizer.transform(documents)))


def test_training_is_reproducible(trained, tokenizer, tmp_path):
    model, _, _ = trained
    path = write_lines(tmp_path / "small.jsonl", [{"text": t, "sentiment": s} for t, s in SMALL_SET])
    again = train(read_labelled([path]), tokenizer)
    assert again.vocabulary == model.vocabulary
    assert np.array_equal(again.coef, model.coef) and np.array_equal(again.intercept, model.intercept)


# -- quality of the shipped model on held-out, human-labelled Weibo posts ------------------------------------------

DATA_DIR = Path(os.environ.get("FENGXIANG_SENTIMENT_DATA") or Path(__file__).parents[2] / "shared/data/sentiment")


def macro_f1(truth: list[str], predicted: list[str]) -> float:
    scores = []
    for label in LABELS:
        hits = sum(t == p == label for t, p in zip(truth, predicted, strict=True))
        guessed, actual = predicted.count(label), truth.count(label)
        precision = hits / guessed if guessed else 0.0
        recall = hits / actual if actual else 0.0
        scores.append(0.0 if hits == 0 else 2 * precision * recall / (precision + recall))
    return sum(scores) / len(scores)


def test_macro_f1_by_hand():
    truth = ["negative", "negative", "neutral", "positive"]
    predicted = ["negative", "neutral", "neutral", "positive"]
    # negative: p 1, r 0.5 → 2/3; neutral: p 0.5, r 1 → 2/3; positive: 1
    assert macro_f1(truth, predicted) == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)


@pytest.mark.parametrize(("name", "minimum"), [("smp2020_usual_eval.jsonl", 0.80), ("smp2020_virus_eval.jsonl", 0.74)])
def test_the_shipped_model_reaches_its_macro_f1_on_the_eval_sets(name, minimum, tokenizer):
    path = DATA_DIR / name
    if not path.exists():
        pytest.skip(f"labelled data set not found at {DATA_DIR}; set FENGXIANG_SENTIMENT_DATA")
    data = read_labelled([path])
    assert len(data.texts) > 1_500 and Counter(data.labels).keys() == set(LABELS)
    # The model as trained: the whole folded text and its tokens (the data set's labels are for the whole post;
    # the analyzer judges a repost by its author's own words, which these labels do not describe).
    folded = [fold(text) for text in data.texts]
    predicted = [result["label"] for result in LinearEngine().predict([(t, tokenizer.tokens(t)) for t in folded])]
    score = macro_f1(data.labels, predicted)
    assert score >= minimum, f"macro-F1 {score:.3f} on {name} (needs {minimum})"
