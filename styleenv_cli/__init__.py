"""styleenv_cli: the ``styleenv`` command-line application (``demo``, ``stylize``, ``evaluate``, ``train``, ``export``).

The top layer of the project: it may import :mod:`agents` and :mod:`styleenv`; nothing imports
it except the entry points (the ``styleenv`` console script, ``python -m styleenv_cli`` and the
``python -m styleenv`` shim). :mod:`styleenv_cli.main` holds the parser and ``main``;
:mod:`styleenv_cli.commands` one module per subcommand.
"""
