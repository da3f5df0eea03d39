from setuptools import find_packages, setup

setup(
    name="tfdefend",
    version="0.1.0",
    description="TensorFlow 2 / Keras 3 model zoo of defenses against adversarial examples, with the attacks that test them.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["tfdefend", "tfdefend.*"]),
    package_data={"tfdefend.models": ["zoo/*.json", "zoo/*.keras", "zoo/*.md", "zoo/cards/*.md"]},
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
        "test": ["pytest>=7", "pytest-xdist>=3.5", "hypothesis>=6.100", "ai-edge-litert>=1.2"],
        "export": ["ai-edge-litert>=1.2"],
        "bench": ["adversarial-robustness-toolbox>=1.17", "foolbox>=3.3"],
    },
    entry_points={"console_scripts": ["tfdefend=tfdefend.cli.main:main"]},
)
