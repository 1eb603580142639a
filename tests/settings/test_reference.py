"""The settings reference in docs/ is generated from the schema and must be current."""

from pathlib import Path

from dreamloom.settings.reference import render_reference
from dreamloom.settings.schema import SETTING_NAMES

DOC = Path(__file__).parents[2] / "docs" / "settings.md"


def test_docs_settings_md_is_generated_from_the_schema():
    assert DOC.read_text(encoding="utf-8") == render_reference(), "run: python -m dreamloom.settings.reference > docs/settings.md"


def test_reference_has_a_row_per_setting():
    text = render_reference()
    for name in SETTING_NAMES:
        assert f"| `{name}` |" in text
