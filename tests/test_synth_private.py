"""`argot synth` sends documents to an outside endpoint: by default only public ones."""

from __future__ import annotations

import json

import pytest

from bot.cli import build_parser
from bot.services import Services
from engine.types import Document
from tests.test_synth import DOCUMENTS, chat, chat_body  # noqa: F401 - the fixture

SECRET = Document("hr/layoffs", "The Nightjar plan: forty roles cut in March.", title="Nightjar",
                  channels=("GHR",))


def test_private_documents_are_not_sent_unless_asked(services: Services, chat,  # noqa: F811
                                                     capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    services.ingestor().ingest([*(Document(d, t) for d, t in DOCUMENTS.items()), SECRET])
    server = chat(lambda prompt: (200, chat_body(json.dumps(["what is this?"])), 0.0))
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    args = build_parser().parse_args(["synth", "--base-url", server.url, "--dry-run"])
    args.run(args, services)
    assert len(server.prompts) == len(DOCUMENTS)
    assert not any("Nightjar" in prompt for prompt in server.prompts)
    said = capsys.readouterr().err
    assert "only documents visible everywhere" in said and "1 restricted" in said

    args = build_parser().parse_args(["synth", "--base-url", server.url, "--dry-run",
                                      "--include-private"])
    args.run(args, services)
    assert any("Nightjar" in prompt for prompt in server.prompts)
