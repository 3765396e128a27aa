"""Data read from the user's CSV and Parquet files.

`files.py`: layouts (one file with a split column or fractions, one file per
split), checks that name the file and the column, `recipe_data_source`;
`values.py`: column types, feature values and label values of a column.
"""
