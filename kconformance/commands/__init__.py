"""One module per ``python -m kconformance`` command.

Each module exposes ``register(subparsers)``, which adds its sub-command and arguments and
returns that sub-parser, and ``run(args) -> int``, which does the work and returns the exit
code. ``kconformance.__main__.COMMANDS`` lists the modules in the order ``--help`` shows them:
a new command is a new module here and one line there. A command's own logic lives in the
framework module it drives (matrix, stress, crosscheck, merge, gatetable); what is here is the
command line and the wiring to the machine (cache, registry, kind, subprocesses).
"""
