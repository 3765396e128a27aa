"""Small helpers every floor may use: layer names (`names.py`), plugins (`plugins.py`) and text tables (`tables.py`)."""
