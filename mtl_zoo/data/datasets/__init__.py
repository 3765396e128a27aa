"""The registered data sets, one module each; importing this package registers them all.

TFDS builders (`multi_digits`, `multi_mnist`, `digit_scenes`, `two_digits`
compositions), the user's TFDS copy of `celeb_a`, CoNLL-2003, and the
pandas-backed sources (`frame_source.py`) for `movielens`,
`movielens_impressions`, `movie_titles`, `seattle_pets`, `loans` and `census_income`.
"""

from mtl_zoo.data.datasets import multi_digits, multi_mnist, two_digits
from mtl_zoo.data.datasets import celeb_a, digit_scenes
from mtl_zoo.data.datasets import census_income, loans, movielens, movielens_impressions
from mtl_zoo.data.datasets import movie_titles, seattle_pets
from mtl_zoo.data.datasets import conll2003

__all__ = ["celeb_a", "census_income", "conll2003", "digit_scenes", "loans", "movie_titles", "movielens",
           "movielens_impressions", "multi_digits", "multi_mnist", "seattle_pets", "two_digits"]
