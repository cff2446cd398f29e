"""The team's vocabulary: learnt from ratings, used to expand questions, rejected for good,
and working in Chinese and Japanese as in English."""

from __future__ import annotations

from pathlib import Path

from engine.learning.expansions import LearningCorpus
from engine.learning.trainingdata import RatedQuestion
from engine.learning.vocabulary import learn_vocabulary
from engine.search.fusion import fuse
from engine.search.lexical import Bm25
from engine.search.memory import FeedbackMemory, MemoryRanker, chunk_lookup
from engine.search.profile import LearnedProfile, reject_term, rejected_terms
from engine.search.retrieval import Query
from engine.search.tokens import tokenize
from engine.search.vocabulary import GlossaryEntry, Vocabulary, defined_entries
from engine.types import Chunk

DOCUMENTS = {
    "wiki/gateway": "API gateway: every request from outside passes the API gateway, which checks "
                    "tokens and applies rate limits.",
    "wiki/gateway-deploy": "Deploying the API gateway: its config lives in the edge repo; roll it "
                           "out with the deploy pipeline.",
    "wiki/gateway-limits": "Rate limits at the API gateway are set per client in limits.yaml.",
    "wiki/flags": "Feature flags turn features on and off without a deploy; they live in the "
                  "flag service.",
    "wiki/flags-cleanup": "Removing old feature flags: delete the flag from the flag service after "
                          "the rollout.",
    "wiki/oncall": "The on-call rotation: who is paged when production breaks, how to hand over.",
    "wiki/owners": "Owners of each service: the platform team owns deploys and the pipeline.",
    **{f"wiki/misc-{n}": f"Office note {n}: the cafeteria menu, parking and plants." for n in range(30)},
}

RATED = [
    RatedQuestion("who owns the tollbooth?", {"wiki/gateway": 1.0}),
    RatedQuestion("how do I deploy the tollbooth", {"wiki/gateway-deploy": 1.0}),
    RatedQuestion("where are tollbooth rate limits set", {"wiki/gateway-limits": 1.0}),
    RatedQuestion("how do I add new sparkles", {"wiki/flags": 1.0}),
    RatedQuestion("cleaning up old sparkles", {"wiki/flags-cleanup": 1.0}),
    RatedQuestion("who is paged tonight", {"wiki/oncall": 1.0}),
]


def test_a_word_the_documents_never_use_is_tied_to_the_words_of_the_chosen_documents():
    vocabulary = learn_vocabulary(RATED, LearningCorpus(DOCUMENTS))

    learnt = {entry.term: entry for entry in vocabulary.entries}
    assert learnt["tollbooth"].expansion == "api gateway"
    assert learnt["tollbooth"].evidence == 3
    assert learnt["tollbooth"].describe() == "tollbooth → api gateway (3 questions)"
    assert learnt["sparkles"].expansion == "feature flags"
    assert "how do" not in learnt and "paged" not in learnt  # how people ask; the documents' own word


def test_rewordings_of_one_question_are_one_piece_of_evidence_and_a_term_ends_at_a_common_word():
    runbooks = {f"wiki/service-{n}": f"Service {n} runbook: when the service is down, restart it."
                for n in range(10)}
    forecaster = {"wiki/forecaster": "The ETA forecaster predicts arrival times for every load.",
                  "wiki/forecaster-training": "Retraining the ETA forecaster model every week."}
    documents = LearningCorpus({**DOCUMENTS, **runbooks, **forecaster})
    one_question = [RatedQuestion("is the crystal ball service down", {"wiki/forecaster": 1.0}),
                    RatedQuestion("anyone know if the crystal ball service is down",
                                  {"wiki/forecaster": 1.0})]
    another = RatedQuestion("how do i retrain the crystal ball", {"wiki/forecaster-training": 1.0})

    asked_twice = {entry.term for entry in learn_vocabulary([*RATED, *one_question], documents).entries}
    vocabulary = learn_vocabulary([*RATED, *one_question, another], documents)
    learnt = {entry.term: entry for entry in vocabulary.entries}

    assert not asked_twice & {"crystal ball", "crystal", "ball"}  # one question, in two wordings
    assert learnt["crystal ball"].evidence == 2
    assert "forecaster" in learnt["crystal ball"].expansion
    assert not set(learnt) & {"crystal ball service", "ball service", "service down", "crystal"}


def test_a_slang_pair_ending_in_a_shared_word_is_its_own_term():
    teams = {"wiki/pursers": "Pursers\nThe team that runs payments and refunds. Lead: Ada.",
             "wiki/riggers": "Riggers\nThe team that runs the platform, clusters and quotas.",
             "wiki/money-report": "Monthly report\nWhere the money went this month.",
             "wiki/money-policy": "Spending policy\nMoney for travel and equipment."}
    rated = [RatedQuestion("who leads the money crew this quarter", {"wiki/pursers": 1.0}),
             RatedQuestion("refund stuck, ping the money crew?", {"wiki/pursers": 1.0}),
             RatedQuestion("wrench crew cluster quota limits", {"wiki/riggers": 1.0}),
             RatedQuestion("is the wrench crew on call tonight", {"wiki/riggers": 1.0})]

    documents = LearningCorpus({**DOCUMENTS, **teams})

    learnt = {entry.term: entry for entry in learn_vocabulary(rated, documents).entries}

    assert "pursers" in learnt["money crew"].expansion  # "money" is common, "money crew" is not
    assert "riggers" in learnt["wrench crew"].expansion
    assert "crew" not in learnt  # alone it means neither team


def test_a_word_only_one_wording_of_each_question_uses_is_how_people_ask_not_a_term():
    habit = [RatedQuestion(f"I keep hearing this, {question.text}", question.positives)
             for question in RATED if "tollbooth" in question.text]

    vocabulary = learn_vocabulary([*RATED, *habit], LearningCorpus(DOCUMENTS))

    learnt = {entry.term: entry for entry in vocabulary.entries}

    assert learnt["tollbooth"].expansion == "api gateway"
    assert not {"hearing", "keep hearing", "hearing this"} & set(learnt)  # each also asked without it


def test_the_teams_name_for_its_own_product_is_learnt_though_most_questions_use_it():
    topics = ["queues", "alerts", "deploys", "owners", "limits", "retries"]
    billing = {f"wiki/billing-{n}": f"Billing {topic}: how the billing system handles its {topic} "
                                    f"for invoices and refunds." for n, topic in enumerate(topics)}
    documents = LearningCorpus({**DOCUMENTS, **billing})
    about_phoenix = [RatedQuestion(f"what are phoenix {topic}", {f"wiki/billing-{n}": 1.0})
                     for n, topic in enumerate(topics)]

    vocabulary = learn_vocabulary([*about_phoenix, *RATED[:2]], documents)  # phoenix: 6 of 8 questions

    learnt = {entry.term: entry for entry in vocabulary.entries}
    assert "billing" in learnt["phoenix"].expansion
    assert learnt["phoenix"].evidence == 6


def test_an_expanded_question_finds_the_document_bm25_missed():
    bm25 = Bm25.over(chunks())
    vocabulary = learn_vocabulary(RATED, LearningCorpus(DOCUMENTS))
    question = "is the tollbooth down"

    before = bm25.search(question, 3)
    expanded = vocabulary.expand(Query(question, question))
    after = bm25.search(expanded.words, 3)

    assert not before
    assert after[0].chunk.doc_id == "wiki/gateway"
    assert expanded.text == "is the tollbooth down (api gateway)"


def test_a_rejected_term_is_never_learnt_again_and_leaves_the_served_profile(tmp_path: Path):
    folder = tmp_path / "ft0001"
    LearnedProfile(learn_vocabulary(RATED, LearningCorpus(DOCUMENTS))).save(folder)

    reject_term(tmp_path, "Tollbooth")

    rejected = rejected_terms(tmp_path)
    served = LearnedProfile.load(folder, rejected)
    relearnt = learn_vocabulary(RATED, LearningCorpus(DOCUMENTS), rejected=rejected)
    assert rejected == {"tollbooth"}
    assert [e.term for e in served.vocabulary.entries] == ["sparkles"]
    assert "tollbooth" not in {e.term for e in relearnt.entries}


def test_defined_entries_expand_their_term_with_the_definition():
    entries = defined_entries([("defined/gtq", "GTQ", "GTQ: the golden ticket queue, where VIP "
                                                      "support requests wait for a human")])
    vocabulary = Vocabulary(entries)

    assert vocabulary.expand_text("who watches the GTQ?") == \
        "who watches the GTQ? (the golden ticket queue, where VIP support requests)"
    assert entries[0].describe() == "GTQ → the golden ticket queue, where VIP support requests (defined)"


def test_the_longest_term_wins_and_a_question_without_terms_is_unchanged():
    vocabulary = Vocabulary([GlossaryEntry("golden ticket", "vip queue", 2),
                             GlossaryEntry("golden ticket queue", "vip support queue", 3)])

    assert vocabulary.expand_text("where is the golden ticket queue") == \
        "where is the golden ticket queue (vip support queue)"
    assert vocabulary.expand_text("where is the coffee") == "where is the coffee"


# -- Chinese and Japanese ------------------------------------------------------------------

CJK_DOCUMENTS = {
    "zh/gateway": "API网关：所有外部请求都经过网关，网关检查令牌并限制流量。",
    "zh/gateway-deploy": "部署网关：网关的设置保存在边缘仓库，用流水线发布。",
    "zh/database": "数据库每天晚上备份，备份保存七天。",
    "zh/owners": "每个服务都有负责人，平台团队负责发布和流水线。",
    "ja/flags": "フィーチャーフラグは、デプロイせずに機能を切り替える仕組みです。",
    **{f"zh/misc-{n}": f"办公室通知{n}：食堂菜单和停车。" for n in range(30)},
}


def test_cjk_text_is_split_into_character_bigrams_like_lucenes_cjk_analyzer():
    assert tokenize("网关配置") == ["网关", "关配", "配置"]
    assert tokenize("API网关 config") == ["api", "网关", "config"]
    assert tokenize("検索") == ["検索"]
    assert tokenize("中") == ["中"]


def test_bm25_finds_a_chinese_document_by_a_word_inside_a_sentence():
    bm25 = Bm25.over(chunks(CJK_DOCUMENTS))

    found = bm25.search("数据库什么时候备份", 1)

    assert found and found[0].chunk.doc_id == "zh/database"


def test_chinese_slang_is_learnt_from_ratings_and_expands_questions():
    rated = [RatedQuestion("收费站由谁负责", {"zh/gateway": 1.0}),
             RatedQuestion("收费站怎么发布", {"zh/gateway-deploy": 1.0}),
             RatedQuestion("收费站检查什么", {"zh/gateway": 1.0})]

    vocabulary = learn_vocabulary(rated, LearningCorpus(CJK_DOCUMENTS))

    learnt = {entry.term: entry for entry in vocabulary.entries}
    assert "收费站" in learnt
    assert "网关" in learnt["收费站"].expansion
    bm25 = Bm25.over(chunks(CJK_DOCUMENTS))
    question = "收费站坏了吗"
    expanded = vocabulary.expand(Query(question, question))
    assert bm25.search(expanded.words, 1)[0].chunk.doc_id.startswith("zh/gateway")


# -- feedback memory -----------------------------------------------------------------------


def test_a_question_close_to_a_rated_one_brings_back_its_chosen_document():
    memory = FeedbackMemory(["who owns the tollbooth", "who is paged tonight"],
                            [("wiki/gateway",), ("wiki/oncall",)],
                            vectors=unit([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), threshold=0.8)
    ranker = MemoryRanker(memory, chunk_lookup(sorted(chunks(), key=lambda c: c.doc_id)))

    close = ranker.rank(Query("tollbooth owner?", "tollbooth owner?", vector=unit([[0.9, 0.1, 0.0]])[0]), 5)
    far = ranker.rank(Query("lunch?", "lunch?", vector=unit([[0.0, 0.0, 1.0]])[0]), 5)
    fused = fuse([([], 1.0), (close, 1.0)], 3)

    assert [item.chunk.doc_id for item in close] == ["wiki/gateway"]
    assert far == []
    assert fused[0].chunk.doc_id == "wiki/gateway"


def chunks(documents: dict[str, str] = DOCUMENTS) -> list[Chunk]:
    return [Chunk(doc_id=doc_id, position=0, text=text)
            for doc_id, text in documents.items()]


def unit(rows: list[list[float]]):
    import numpy as np

    matrix = np.asarray(rows, dtype=np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def test_an_expansion_that_recurs_with_the_questions_words_beats_one_that_only_names_the_page():
    from engine.learning.expansions import LearningCorpus, Wording, _recurrence

    documents = {
        "wiki/friday-deploys": "Friday deploys: the release train leaves at noon; a deploy after 3pm "
                               "on a Friday needs a second approver.",
        "wiki/rollback": "Rolling back a deploy on a Friday needs no approver.",
        "wiki/hotfix": "A deploy of a hotfix at night needs the on-call.",
        "wiki/menu": "The cafeteria menu changes on Friday.",
    }
    corpus = LearningCorpus(documents)
    asked = [Wording("can I yeet on a friday", ("yeet", "friday"), (0,), "q1")]

    recurrence = _recurrence(asked, corpus)

    assert recurrence(("release", "train")) == 0.0  # only on the chosen page
    assert recurrence(("deploy",)) == 1 / 3  # two other pages hold it, one of them with "friday"
