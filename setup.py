"""Packaging for mtl_zoo: multi-task learning models for Keras 3."""

from pathlib import Path

from setuptools import find_packages, setup

setup(
    name="mtl_zoo",
    version="0.1.0",
    description="Multi-task learning models for Keras 3 / TensorFlow: sharing schemes, "
    "task balancing, recipes, export.",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["mtl_zoo", "mtl_zoo.*"]),
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3",
        "keras-tuner",
        "tensorflow-datasets",
        "importlib_resources",  # used by tensorflow-datasets to locate builder code
        "scikit-learn",
        "pyyaml",
        "pydantic>=2",
        "matplotlib",
    ],
    extras_require={
        "test": ["pytest>=7"],
        "gpu": ["tensorflow[and-cuda]>=2.16"],
    },
    entry_points={"console_scripts": ["mtl-zoo=mtl_zoo.cli:main"]},
)
