"""Fill every empty msgstr of the English catalogue with its msgid.

The msgids are English already, so the English catalogue is complete when each
entry repeats its msgid; an entry can still be reworded by hand, and is then kept.
Usage (from the repository root): python translations/fill_english.py
"""

from pathlib import Path

from babel.messages.pofile import read_po, write_po

CATALOGUE = Path(__file__).resolve().parent / "en" / "LC_MESSAGES" / "messages.po"


def fill(path: Path = CATALOGUE) -> int:
    with path.open("rb") as handle:
        catalog = read_po(handle, locale="en")
    filled = 0
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, str):
            if not message.string:
                message.string = message.id
                filled += 1
        elif not all(message.string):
            message.string = tuple(message.id[: catalog.num_plurals])
            filled += 1
        message.flags.discard("fuzzy")
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, no_location=True, sort_output=True)
    return filled


if __name__ == "__main__":
    print(f"{fill()} English entries filled")
