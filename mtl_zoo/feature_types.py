"""The feature types of a raw table column, declared once.

A column's feature type (`InputSpec.feature_type`, a recipe's
`data.columns`) says how the model preprocesses it and which values a file's
column gives it:

- "numeric": floats, normalized inside the model; an empty cell is missing;
- "categorical": keys (strings or integers) looked up in the training
  vocabulary, then embedded;
- "id": the same, for keys with many values (the `features` trunk can cap
  their vocabulary);
- "text": strings, vectorized into n-gram features.

Every place that treats the types differently keeps one table keyed by these
names (`mtl_zoo.trunks.features.COLUMN_TYPES`: the preprocessing column;
`mtl_zoo.data.tables.values.FEATURE_DTYPES`: the input dtype a file's column
gets), and the recipe schema accepts exactly these names. A new type is one
more name here and one entry in each table; `tests/test_feature_types.py`
fails until every table has it.

Example:

>>> FEATURE_TYPES
('numeric', 'categorical', 'id', 'text')
"""

FEATURE_TYPES = ("numeric", "categorical", "id", "text")
