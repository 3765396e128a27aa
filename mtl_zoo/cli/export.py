"""`mtl-zoo export`: write an artifact's SavedModel to a new folder, checked against `model.keras`.
"""

from __future__ import annotations

from mtl_zoo.cli.common import check_on_test_split, check_output_argument


def command_export(arguments) -> int:
    """Exports a trained artifact's model as a SavedModel with per-task signatures."""
    import shutil

    from mtl_zoo.artifacts.folder import SAVED_MODEL_DIR, ArtifactError
    from mtl_zoo.artifacts.writer import (
        check_artifact_folder,
        load_artifact_model,
        load_artifact_plugins,
        replace_folder,
        staging_folder,
    )
    from mtl_zoo.artifacts.saved_model import export_saved_model
    from mtl_zoo.artifacts.round_trips import SAMPLE_FILE, check_artifact_agreement

    folder = check_artifact_folder(arguments.artifact)
    load_artifact_plugins(folder, trusted=arguments.trust_plugins)
    target = check_output_argument(arguments.output or folder) / SAVED_MODEL_DIR
    if target.exists() and not arguments.overwrite:
        raise ArtifactError(
            f"{target} already exists; pass --overwrite to replace it or --output DIR to write "
            f"elsewhere. Received: output={str(arguments.output or folder)!r}"
        )
    model = load_artifact_model(folder)
    if (folder / SAMPLE_FILE).exists():
        check_artifact_agreement(folder, model)
    else:  # an artifact written before the rows were stored: check on its test split
        check_on_test_split(folder, model, arguments.verbose)
    staging = staging_folder(target)
    try:
        export_saved_model(model, staging)
        replace_folder(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    print(f"Wrote {target} (signatures: serving_default, {', '.join(model.task_names)})")
    return 0
