"""Hard-negative mining over the active collection (fake embedder, real Chroma)."""

from __future__ import annotations

from engine.learning.mining import ActiveCorpus, mine
from engine.learning.trainingdata import RatedQuestion
from engine.types import Document

KB = [
    Document("glossary/bosun", "The bosun approves every production deploy on duty week.",
             title="Bosun"),
    Document("glossary/bosun-copy", "The bosun approves every production deploy on duty week.",
             title="Bosun"),
    Document("glossary/quay", "The quay is the staging environment for a production deploy.",
             title="Quay"),
    Document("glossary/slipway", "The slipway pipeline builds every release candidate.",
             title="Slipway"),
    Document("glossary/dogwatch", "Dogwatch is the evening on-call shift.", title="Dogwatch"),
    Document("faq/deploys", "# FAQ\n\n## How do I deploy to production?\n\nAsk the bosun to "
             "ship it.\n\n## Can I deploy on Friday?\n\nUntil three in the afternoon.",
             title="FAQ: deploys"),
]


def corpus_of(services) -> ActiveCorpus:
    services.ingestor().ingest(KB)
    return ActiveCorpus.from_index(services.index())


def test_the_active_collection_is_read_with_its_stored_vectors(services):
    corpus = corpus_of(services)
    assert set(corpus.corpus.doc_ids) == {d.doc_id for d in KB}
    assert corpus.vectors.shape == (len(corpus.corpus.chunks), services.embedder().dimension)
    first = corpus.corpus.chunks[0]
    again = services.embedder().embed_documents([first.embedding_text])[0]
    assert abs(float(corpus.vectors[0] @ again) - 1.0) < 1e-5


def test_mined_negatives_are_high_ranked_documents_that_are_not_positives(services):
    corpus = corpus_of(services)
    question = RatedQuestion("who approves a production deploy?", {"glossary/bosun": 1.0})
    mined = mine([question], corpus, services.embedder(), num_negatives=2)
    [example] = mined.examples
    assert example.positive_doc == "glossary/bosun"
    assert "bosun approves" in example.positive
    negatives = [n.doc_id for n in example.negatives]
    assert "glossary/bosun" not in negatives
    assert all(n.kind == "mined" for n in example.negatives)
    assert "glossary/quay" in negatives  # shares "production deploy": a hard negative
    assert mined.hard_negatives == 2


def test_a_candidate_scoring_as_high_as_the_positive_is_dropped_not_used(services):
    corpus = corpus_of(services)
    question = RatedQuestion("who approves a production deploy?", {"glossary/bosun": 1.0})
    mined = mine([question], corpus, services.embedder(), num_negatives=3, relative_margin=0.05)
    negatives = [n.doc_id for n in mined.examples[0].negatives]
    assert "glossary/bosun-copy" not in negatives  # same text: probably relevant, unrated
    assert mined.dropped_near_positive >= 1


def test_explicit_thumbs_down_always_counts_even_next_to_the_positive(services):
    corpus = corpus_of(services)
    question = RatedQuestion("who approves a production deploy?", {"glossary/bosun": 1.0},
                             negatives={"glossary/bosun-copy": 1.0},
                             passed_over={"glossary/dogwatch"})
    mined = mine([question], corpus, services.embedder(), num_negatives=3)
    kinds = {n.doc_id: n.kind for n in mined.examples[0].negatives}
    assert kinds["glossary/bosun-copy"] == "rated 👎"
    assert kinds["glossary/dogwatch"] == "passed over"
    assert len(kinds) == 3


def test_the_rank_window_limits_where_negatives_come_from(services):
    corpus = corpus_of(services)
    question = RatedQuestion("who approves a production deploy?", {"glossary/bosun": 1.0})
    top = mine([question], corpus, services.embedder(), num_negatives=1, relative_margin=0.0)
    later = mine([question], corpus, services.embedder(), num_negatives=1, range_min=4,
                 relative_margin=0.0)
    assert top.examples[0].negatives[0].score > later.examples[0].negatives[0].score


def test_a_faq_question_trains_on_its_own_section(services):
    corpus = corpus_of(services)
    question = RatedQuestion("Can I deploy on Friday?", {"faq/deploys": 1.0}, source="faq",
                             chunk_position=1)
    [example] = mine([question], corpus, services.embedder()).examples
    assert "three in the afternoon" in example.positive
    assert example.source == "faq"


def test_documents_forgotten_since_the_vote_are_reported_not_trained(services):
    corpus = corpus_of(services)
    gone = RatedQuestion("what was the old wiki?", {"wiki/old": 1.0})
    mined = mine([gone], corpus, services.embedder())
    assert mined.examples == [] and mined.missing_documents == {"wiki/old"}
