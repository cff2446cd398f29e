"""Dense, BM25 and hybrid retrieval return documents, best chunk per document."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.services import Services
from engine.errors import QueryError
from engine.search.ranking import RankedChunk, top_rows
from engine.search.retrieval import MAX_QUERY_CHARS, Query, Retriever, Weighted
from engine.types import Document

DOCS = [
    Document(doc_id="services/phoenix", title="Project Phoenix",
             text="# Project Phoenix\n\nPhoenix is the billing service that sends invoices.\n\n"
                  "## Pager\n\nThe Plumbers carry the pager for invoices at night."),
    Document(doc_id="services/heron", title="Heron", text="Heron is the parcel routing engine."),
    Document(doc_id="glossary/gtq", title="GTQ", text="GTQ means golden ticket queue for VIP tickets."),
    Document(doc_id="private/secret", title="Secret plan", text="The secret plan for golden tickets.",
             channels=("G123",)),
]


@pytest.fixture
def retriever(services: Services) -> Retriever:
    services.ingestor().ingest(DOCS)
    return services.retriever()


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_each_mode_finds_the_document_and_returns_each_document_once(retriever: Retriever,
                                                                     mode: str) -> None:
    hits = retriever.search("who sends invoices for billing", k=5, mode=mode)  # type: ignore[arg-type]
    assert hits[0].doc_id == "services/phoenix"
    assert len({h.doc_id for h in hits}) == len(hits)


def test_hits_carry_title_text_source_and_a_score(retriever: Retriever) -> None:
    [hit] = retriever.search("parcel routing", k=1)
    assert (hit.doc_id, hit.title) == ("services/heron", "Heron")
    assert "routing" in hit.text and 0 < hit.score <= 1.0


def test_restricted_documents_only_show_in_their_channel(retriever: Retriever) -> None:
    def ids(channel: str | None) -> set[str]:
        return {h.doc_id for h in retriever.search("secret plan golden tickets", k=5, channel=channel)}

    assert "private/secret" in ids("G123")
    assert "private/secret" not in ids("C999")
    for mode in ("dense", "bm25"):
        assert "private/secret" not in {h.doc_id for h in retriever.search(
            "secret plan", k=5, channel="C999", mode=mode)}  # type: ignore[arg-type]


def test_excluded_documents_are_skipped_for_alternatives(retriever: Retriever) -> None:
    hits = retriever.search("billing invoices", k=2, exclude=["services/phoenix"])
    assert "services/phoenix" not in {h.doc_id for h in hits} and len(hits) == 2


def test_empty_question_is_refused_and_a_huge_one_is_cut(retriever: Retriever) -> None:
    with pytest.raises(QueryError, match="empty"):
        retriever.search("   ")
    hits = retriever.search("heron " * 20_000, k=1)  # 120 KB
    assert hits[0].doc_id == "services/heron"
    assert MAX_QUERY_CHARS < 120_000


def test_bm25_sees_documents_ingested_after_it_was_built(services: Services,
                                                         retriever: Retriever) -> None:
    retriever.lexical.recheck_seconds = 0
    assert retriever.search("kestrel", k=1, mode="bm25") == []
    services.ingestor().ingest([Document(doc_id="services/kestrel", title="Kestrel",
                                         text="Kestrel is the search cluster.")])
    assert retriever.search("kestrel", k=1, mode="bm25")[0].doc_id == "services/kestrel"


def test_an_empty_index_answers_nothing(services: Services) -> None:
    assert services.retriever().search("anything") == []


def test_an_expansion_step_lets_bm25_find_what_the_question_only_abbreviates(
        services: Services, retriever: Retriever) -> None:
    assert retriever.search("who owns phx", k=1, mode="bm25") == []

    def spell_out(query: Query) -> Query:
        return replace(query, words=query.words.replace("phx", "phx phoenix"))

    expanded = Retriever(services.index(), services.embedder(), expansions=[spell_out])
    assert expanded.search("who owns phx", k=1, mode="bm25")[0].doc_id == "services/phoenix"


def test_an_extra_ranked_list_is_fused_into_the_hybrid_with_its_weight(
        services: Services, retriever: Retriever) -> None:
    heron = services.index().chunks_of("services/heron")[0][0]

    class Remembered:
        def rank(self, query: Query, depth: int) -> list[RankedChunk]:
            assert query.vector is not None  # the dense vector travels with the query
            return [RankedChunk(heron, 1.0)]

    question = "who sends invoices for billing"
    assert retriever.search(question, k=1)[0].doc_id == "services/phoenix"
    remembering = Retriever(services.index(), services.embedder(),
                            rankers=[Weighted("memory", Remembered(), 3.0)])
    assert remembering.search(question, k=1)[0].doc_id == "services/heron"
    assert remembering.search(question, k=1, mode="dense")[0].doc_id == "services/phoenix"
    lighter = Retriever(services.index(), services.embedder(),
                        rankers=[Weighted("memory", Remembered(), 0.5)])
    assert lighter.search(question, k=1)[0].doc_id == "services/phoenix"


def test_dense_answers_read_chunks_from_memory_and_fetch_only_what_is_new(
        services: Services, retriever: Retriever, monkeypatch: pytest.MonkeyPatch) -> None:
    retriever.search("who sends invoices", k=3)  # hybrid: BM25 is in memory from now on
    fetched: list[list[str]] = []
    fetch = retriever.index.chunks_by_id
    monkeypatch.setattr(retriever.index, "chunks_by_id", lambda ids: fetched.append(list(ids)) or fetch(ids))

    [known] = retriever.search("parcel routing engine", k=1, mode="dense")
    services.ingestor().ingest([Document(doc_id="services/osprey", title="Osprey",
                                         text="Osprey is the parcel tracking map.")])
    new = retriever.search("parcel tracking map", k=2, mode="dense")

    assert (known.doc_id, known.title) == ("services/heron", "Heron") and "routing" in known.text
    assert fetched[0] == [], "every chunk came from memory"
    assert new[0].doc_id == "services/osprey" and new[0].title == "Osprey"
    assert "services/osprey#0" in fetched[1], "the new document's chunk was read from Chroma"


def test_top_rows_ranks_best_first_ties_by_doc_id_and_leaves_out_scores_at_the_minimum() -> None:
    scores = np.array([0.0, 2.0, 0.0, 5.0, 2.0, 0.0, 1.0], dtype=np.float32)
    doc_ids = ["a", "e", "b", "c", "d", "f", "g"]

    assert top_rows(scores, doc_ids, 3, minimum=0.0) == [3, 4, 1]  # d before e at 2.0
    assert top_rows(scores, doc_ids, 10, minimum=0.0) == [3, 4, 1, 6]  # no zero-score rows
    assert top_rows(scores, doc_ids, 10) == [3, 4, 1, 6, 0, 2, 5]  # no minimum: every row
    assert top_rows(np.zeros(4, dtype=np.float32), doc_ids[:4], 2, minimum=0.0) == []


@pytest.mark.parametrize("mode", ["bm25", "hybrid"])
def test_a_page_restricted_or_forgotten_in_this_process_is_gone_from_the_next_answer(
        services: Services, retriever: Retriever, mode: str) -> None:
    def found_in(channel: str) -> list[str]:
        return [hit.doc_id for hit in retriever.search("golden ticket queue", channel=channel, mode=mode)]

    assert retriever.lexical.recheck_seconds > 0  # what serves: no look at Chroma per question
    assert "glossary/gtq" in found_in("C1")

    gtq = next(doc for doc in DOCS if doc.doc_id == "glossary/gtq")
    services.ingestor().ingest([replace(gtq, channels=("G123",))])
    assert "glossary/gtq" not in found_in("C1")
    assert "glossary/gtq" in found_in("G123")

    services.index().delete_document("glossary/gtq")
    assert "glossary/gtq" not in found_in("G123")


def test_a_page_edited_in_this_process_answers_with_its_new_text_in_dense_mode(
        services: Services, retriever: Retriever) -> None:
    assert "golden ticket" in retriever.search("golden ticket queue", k=1)[0].text  # BM25's copy loaded

    gtq = next(doc for doc in DOCS if doc.doc_id == "glossary/gtq")
    services.ingestor().ingest([replace(gtq, text="GTQ means golden ticket queue, now run by the Plumbers.")])

    [hit] = retriever.search("golden ticket queue", k=1, mode="dense")
    assert hit.doc_id == "glossary/gtq" and "Plumbers" in hit.text


def test_while_bm25_is_rebuilt_after_a_change_dense_answers_do_not_use_the_old_copy(
        services: Services, retriever: Retriever, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    lexical = retriever.lexical
    old = lexical.current()
    entered, release = threading.Event(), threading.Event()
    build = lexical._saved_or_built

    def slow_build(generation: int):  # noqa: ANN202
        entered.set()
        release.wait(10)
        return build(generation)

    monkeypatch.setattr(lexical, "_saved_or_built", slow_build)
    gtq = next(doc for doc in DOCS if doc.doc_id == "glossary/gtq")
    services.ingestor().ingest([replace(gtq, text="GTQ means golden ticket queue, now run by the Plumbers.")])
    rebuilding = threading.Thread(target=lexical.current)
    rebuilding.start()
    assert entered.wait(10)

    assert lexical.loaded() is None  # not `old`: dense answers read the chunks from Chroma
    release.set()
    rebuilding.join(10)
    assert lexical.loaded() not in (None, old)


def test_a_question_with_a_word_no_document_uses_is_fused_with_its_own_weights(
        services: Services, retriever: Retriever) -> None:
    lexical = retriever.lexical.current()
    assert lexical.unfamiliar("who owns the tollbooth")  # nothing indexed says "tollbooth"
    assert not lexical.unfamiliar("who sends the invoices for billing")  # stop words do not count
    # "secret" is only in a private document: unfamiliar where it cannot be seen.
    assert lexical.unfamiliar("secret plan", "C999") and not lexical.unfamiliar("secret plan", "G123")

    weighing = Retriever(services.index(), services.embedder(),
                         weights={"dense": 1.0, "bm25": 0.5},
                         unfamiliar_weights={"dense": 1.0, "bm25": 0.0})
    familiar = weighing.query("who sends invoices")
    strange = weighing.query("who sends tollbooth invoices")
    assert weighing.weights_for(familiar) == {"dense": 1.0, "bm25": 0.5}
    assert weighing.weights_for(strange) == {"dense": 1.0, "bm25": 0.0}
    question = "tollbooth golden ticket queue"
    assert [h.doc_id for h in weighing.search(question, k=3)] == \
        [h.doc_id for h in weighing.search(question, k=3, mode="dense")]


def test_a_version_answers_with_the_unfamiliar_weights_its_cycle_chose(
        services: Services, retriever: Retriever, tmp_path: Path) -> None:
    from engine.search.profile import LearnedProfile, answering_retriever
    from engine.search.vocabulary import Vocabulary

    folder = tmp_path / "ft0001"
    LearnedProfile(Vocabulary(), None, {"dense": 1.0, "bm25": 1.0},
                   {"dense": 1.0, "bm25": 0.0}).save(folder)
    plain = tmp_path / "ft0002"
    LearnedProfile(Vocabulary(), None, {"dense": 1.0, "bm25": 0.5}).save(plain)

    chosen = answering_retriever(services.index(), services.embedder(), "hybrid", folder, tmp_path)
    unchosen = answering_retriever(services.index(), services.embedder(), "hybrid", plain, tmp_path)

    assert chosen.weights_for(chosen.query("tollbooth invoices")) == {"dense": 1.0, "bm25": 0.0}
    assert chosen.weights_for(chosen.query("who sends invoices")) == {"dense": 1.0, "bm25": 1.0}
    assert unchosen.unfamiliar_weights is None
    assert unchosen.weights_for(unchosen.query("tollbooth invoices")) == {"dense": 1.0, "bm25": 0.5}
