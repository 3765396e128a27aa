"""Small helpers every floor may use: layer names (`names.py`) and plugins (`plugins.py`)."""
