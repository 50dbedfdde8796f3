"""The Jupyter layer: magics, the ``%rft`` subcommands and the widgets, thin over the layers below.

Importing it registers every ``%rft`` subcommand (each module adds its own to the router); the heavy parts
(the scoring engine, the quality lab, the hosted layer, widgets) load only when a subcommand runs.
"""

from rftkit_nb.notebook import commands, quality_commands, remote_commands  # noqa: F401  (registration)
