import pytest

from knowledge.demo import DEMO_DIR
from knowledge.services import import_intents, import_kb


@pytest.fixture
def demo_kb(db):
    """The demo shop's 80 articles and its intents, published."""
    with open(DEMO_DIR / "kb.jsonl", "rb") as kb:
        import_kb(kb)
    import_intents((DEMO_DIR / "intents.json").read_bytes())
