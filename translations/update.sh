#!/bin/sh
# Refresh the catalogues from the source: extract every marked message into
# translations/messages.pot, then merge new and changed msgids into each
# translations/<locale>/LC_MESSAGES/messages.po. Translate the new entries, then
# run `pybabel compile -d translations` (the install step does this too).
# Run from the repository root:  sh translations/update.sh
set -eu
cd "$(dirname "$0")/.."
PYBABEL="${PYBABEL:-pybabel}"
if [ -x .venv/bin/pybabel ] && [ "$PYBABEL" = pybabel ]; then
    PYBABEL=.venv/bin/pybabel
fi
"$PYBABEL" extract -F babel.cfg \
    -k _l -k N_ -k NP_:1,2 -k lazy_gettext -k lazy_ngettext:1,2 \
    --no-location --sort-output --omit-header --width 100 \
    -o translations/messages.pot .
"$PYBABEL" update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete --width 100
PYTHON="${PYTHON:-python3}"
if [ -x .venv/bin/python ] && [ "$PYTHON" = python3 ]; then
    PYTHON=.venv/bin/python
fi
"$PYTHON" translations/fill_english.py
