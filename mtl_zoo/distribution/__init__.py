"""Distribution: strategies by name (`strategies.py`), local worker processes (`workers.py`), mixed precision.

`precision.py` picks the mixed dtype policy of a device.
"""
