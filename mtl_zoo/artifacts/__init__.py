"""Artifacts: the folder `mtl-zoo train` writes and everything that reads it back.

`writer.py` writes `model.keras`, `metrics.json` and the recipe and loads them
(`load_model`); `saved_model.py` exports the SavedModel with one signature per
task; `model_card.py` writes `MODEL_CARD.md`; `round_trips.py` checks that the
`.keras` file and the SavedModel agree; `prediction.py` serves a table through
`mtl-zoo predict`.
"""
