"""`mtl-zoo predict`: an artifact's predictions for a CSV or Parquet table.
"""

from __future__ import annotations



def command_predict(arguments) -> int:
    """Predicts every row of a CSV or Parquet file without labels (`mtl-zoo predict ARTIFACT --data FILE`).

    Writes one column per task output (class names and probabilities, see
    `mtl_zoo.artifacts.prediction`) to `--output`, or prints the first rows.

    Example:

    >>> main(["predict", "saved_models/penguins", "--data", "new.csv", "--output", "predictions.csv"])  # doctest: +SKIP
    0
    """
    from mtl_zoo.artifacts.folder import RECIPE_FILE
    from mtl_zoo.artifacts.writer import (
        check_artifact_folder,
        load_artifact_model,
        load_artifact_plugins,
        read_metrics,
    )
    from mtl_zoo.artifacts.prediction import PREDICT_BATCH_SIZE, check_output_path, check_reads_tables, predict_rows, preview, \
        table_rows, write_predictions
    from mtl_zoo.recipes.loading import parse_recipe
    from mtl_zoo.artifacts.round_trips import CHECK_ROWS, check_artifact_agreement, leading_batches

    folder = check_artifact_folder(arguments.artifact)
    load_artifact_plugins(folder, trusted=arguments.trust_plugins)
    output = check_output_path(arguments.output, arguments.overwrite) if arguments.output else None
    recipe = parse_recipe(folder / RECIPE_FILE)
    check_reads_tables(folder, recipe, arguments.data)
    metrics = read_metrics(folder)
    model = load_artifact_model(folder)
    rows = table_rows(folder, recipe, model, arguments.data)
    check_artifact_agreement(folder, model, leading_batches(rows.batch(PREDICT_BATCH_SIZE)),
                             f"the first {CHECK_ROWS} rows of {arguments.data}")
    frame = predict_rows(model, rows, metrics.get("outputs") or {})
    if output is None:
        print(f"{recipe.name} on {arguments.data}: {len(frame)} rows; the first {min(len(frame), 10)}:")
        print(preview(frame))
        print("Pass --output FILE (.csv or .parquet) to write every row.")
        return 0
    write_predictions(frame, output)
    print(f"Wrote {output} ({len(frame)} rows; columns {', '.join(frame.columns)})")
    return 0
