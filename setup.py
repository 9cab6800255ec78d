"""The one thing pyproject.toml cannot say yet (setuptools' `ext-modules` table is experimental):
the compiled speed-up of a question's sums (bot/search/kernel.py). It is optional: without a C
compiler the build goes on without it, and the numpy code answers the same, more slowly."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "bot.search._kernel",
            sources=["bot/search/_kernel.c"],
            optional=True,
            extra_compile_args=["-ffp-contract=off"],  # no fused multiply-add: the numpy code's bits
        )
    ]
)
