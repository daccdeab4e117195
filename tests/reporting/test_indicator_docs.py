"""docs/indicators.md lists every indicator as the code defines it."""

from __future__ import annotations

from pathlib import Path

from services.reporting.indicators import INDICATORS, markdown_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "indicators.md"


def test_the_page_holds_the_generated_table() -> None:
    assert markdown_table() in DOC.read_text(encoding="utf-8")


def test_every_computed_or_declared_row_has_a_basis_and_a_seed_sentence() -> None:
    for ind in INDICATORS:
        if ind.kind != "heading":
            assert ind.basis and ind.seed and ind.formula, ind.stt


def test_the_seed_sentences_are_the_seed_s() -> None:
    """Each quoted sentence (the part after "Phụ lục II: " up to " … ") is in the seed text,
    whitespace and emphasis aside."""
    seed = next((DOC.parents[2] / "shared" / "seed").glob("*.txt")).read_text(encoding="utf-8")
    flat = " ".join(seed.replace("<i>", "").replace("</i>", "").split())
    for ind in INDICATORS:
        if ind.kind == "heading":
            continue
        for part in ind.seed.split(" — "):
            sentence = part.removeprefix("Phụ lục II: ").split(" … ")[0]
            assert sentence and sentence in flat, (ind.stt, sentence)
