"""README.md's Python code blocks run as written, in a fresh interpreter and an empty folder."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYTHON_BLOCKS = re.findall(r"^```python\n(.*?)^```", (ROOT / "README.md").read_text(), re.DOTALL | re.MULTILINE)


def test_readme_has_python_blocks():
    assert PYTHON_BLOCKS


@pytest.mark.slow
@pytest.mark.parametrize("code", PYTHON_BLOCKS, ids=[f"block{index}" for index in range(len(PYTHON_BLOCKS))])
def test_readme_python_block_runs(code, tmp_path, multi_digits_data_dir):
    environment = {**os.environ, "TFDS_DATA_DIR": str(multi_digits_data_dir)}  # read by TFDS
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                            env=environment)
    assert result.returncode == 0, result.stderr[-3000:]
    for written in re.findall(r"""(?:\.save|export_saved_model)\(.*?["']([^"']+)["']\)""", code):
        assert (tmp_path / written).exists(), written
