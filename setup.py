from setuptools import find_namespace_packages, setup

# The zoo's data folders (tfdefend/models/zoo, .../cards) hold no __init__.py: they are declared as
# namespace packages with their own package_data, so setuptools ships them without warning.
PACKAGES = find_namespace_packages(include=["tfdefend", "tfdefend.*"], exclude=["*.__pycache__"])

setup(
    name="tfdefend",
    version="0.1.0",
    description="TensorFlow 2 / Keras 3 model zoo of defenses against adversarial examples, with the attacks that test them.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=PACKAGES,
    package_data={"tfdefend.models.zoo": ["*.json", "*.keras", "*.md"],
                  "tfdefend.models.zoo.cards": ["*.md"]},
    include_package_data=True,
    install_requires=[
        "keras>=3.13",
        "numpy>=1.26",
        "pillow>=10",
        "ai-edge-litert>=1.2",
        "scikit-learn>=1.3",
        "scikit-image>=0.22",
        "mlxtend>=0.23",
    ],
    extras_require={
        "cpu": ["tensorflow-cpu>=2.16"],
        "gpu": ["tensorflow[and-cuda]>=2.16"],
        "test": ["pytest>=7", "pytest-xdist>=3.5", "hypothesis>=6.100", "ai-edge-litert>=1.2",
                 "foolbox>=3.3"],
        "export": ["ai-edge-litert>=1.2"],
        "bench": ["adversarial-robustness-toolbox>=1.17", "multiprocess", "foolbox>=3.3", "cleverhans>=4.0"],
    },
    entry_points={"console_scripts": ["tfdefend=tfdefend.cli.main:main"]},
)
