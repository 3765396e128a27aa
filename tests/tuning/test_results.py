"""The trial table as text: one column per field, `*` on the Pareto front, `best` on the best trial."""

from mtl_zoo.tuning.results import format_trial_table


def test_trial_table_lines_up_values_and_flags():
    rows = [
        {"trial": 0, "units/1": 32, "learning_rate": 0.001234567, "dropout": None, "left_accuracy": 0.91,
         "objective": 0.5, "pareto": True, "best": False},
        {"trial": 1, "units/1": 128, "learning_rate": 0.01, "dropout": 0.25, "left_accuracy": 0.9312345,
         "objective": 0.75, "pareto": True, "best": True},
        {"trial": 12, "units/1": 8, "learning_rate": 0.1, "dropout": "", "left_accuracy": 0.5,
         "objective": 0.125, "pareto": False, "best": False},
    ]
    assert format_trial_table(rows) == (
        "trial  units.1  learning_rate  dropout  left_accuracy  objective  pareto  best\n"
        "0      32       0.001235                0.91           0.5        *\n"
        "1      128      0.01           0.25     0.9312         0.75       *       best\n"
        "12     8        0.1                     0.5            0.125"
    )


def test_trial_table_without_trials_says_so():
    assert format_trial_table([]) == "(no finished trial)"
